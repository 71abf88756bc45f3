#!/usr/bin/python3
"""Receive (or change) addresses of a BIP84 account, computed by Electrum's own
library code, as JSON on stdout. An independent implementation to check
coldpool's `deriveAddresses` against (test/electrum-derive.test.ts).

Run with Debian's system python, where python3-electrum is installed:

    /usr/bin/python3 test/electrum/derive_addresses.py \
        --xkey vpub5Y... --net testnet --chain 0 --from 0 --count 1000

or, to pay Electrum's start-up once for many ranges, a JSON list of
{"xkey", "net", "chain", "from", "count"} on stdin with --requests.

Fully offline: it opens no connection (connect, bind, sendto and name
resolution are disabled before Electrum is imported) and reads or writes no
wallet; HOME points at a fresh temporary directory, removed on exit, so
nothing of the user's ~/.electrum is read or created.
The script type comes from the key itself: Electrum maps zpub/vpub to
'p2wpkh' (SLIP-132), and `pubkey_to_address(node.xtype, ...)` is what
Electrum's own keystore/wallet code calls for such a key.
"""
import argparse
import atexit
import json
import os
import shutil
import socket
import sys
import tempfile


def _no_network(*_args, **_kwargs):
    raise RuntimeError("derive_addresses.py must stay offline: a socket was requested")


for _name in ("connect", "connect_ex", "sendto", "sendmsg", "bind"):
    setattr(socket.socket, _name, _no_network)
socket.create_connection = _no_network  # type: ignore[assignment]
socket.getaddrinfo = _no_network  # type: ignore[assignment]
_home = tempfile.mkdtemp(prefix="coldpool-electrum-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["HOME"] = _home
os.environ["XDG_CONFIG_HOME"] = _home

from electrum import constants  # noqa: E402
from electrum import version as electrum_version  # noqa: E402
from electrum.bip32 import BIP32Node  # noqa: E402
from electrum.bitcoin import pubkey_to_address  # noqa: E402

NETS = {
    "mainnet": constants.set_mainnet,
    "testnet": constants.set_testnet,
    "regtest": constants.set_regtest,
    "signet": constants.set_signet,
}


def derive(xkey: str, net: str, chain: int, start: int, count: int) -> dict:
    """One range of one account, as the JSON object this script prints."""
    if start < 0 or count < 1 or start + count - 1 > 0x7FFFFFFF:
        raise ValueError("range must lie within 0..2^31-1")
    NETS[net]()
    node = BIP32Node.from_xkey(xkey, net=constants.net)
    if node.is_private():
        raise ValueError("a private key was given; pass the account zpub/vpub")
    if node.xtype != "p2wpkh":
        raise ValueError(f"expected a zpub/vpub (Electrum xtype p2wpkh), got xtype {node.xtype}")
    chain_node = node.subkey_at_public_derivation([chain])
    addresses = []
    for i in range(start, start + count):
        child = chain_node.subkey_at_public_derivation([i])
        pubkey_hex = child.eckey.get_public_key_bytes(compressed=True).hex()
        addresses.append(pubkey_to_address(node.xtype, pubkey_hex, net=constants.net))
    return {
        "generator": "electrum",
        "electrum_version": electrum_version.ELECTRUM_VERSION,
        "net": constants.net.NET_NAME,
        "xkey": xkey,
        "chain": chain,
        "from": start,
        "count": count,
        "addresses": addresses,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--xkey", help="account zpub (mainnet) or vpub (test networks)")
    p.add_argument("--net", choices=sorted(NETS))
    p.add_argument("--chain", type=int, default=0, choices=[0, 1])
    p.add_argument("--from", dest="start", type=int)
    p.add_argument("--count", type=int)
    p.add_argument("--requests", action="store_true",
                   help="read a JSON list of {xkey, net, chain, from, count} on stdin and print a JSON list"
                        " of results (one Electrum start-up for many ranges)")
    args = p.parse_args()
    try:
        if args.requests:
            requests = json.load(sys.stdin)
            result = [derive(r["xkey"], r["net"], r.get("chain", 0), r["from"], r["count"]) for r in requests]
        else:
            if args.xkey is None or args.net is None or args.start is None or args.count is None:
                p.error("--xkey, --net, --from and --count are required (or --requests)")
            result = derive(args.xkey, args.net, args.chain, args.start, args.count)
    except ValueError as e:
        p.error(str(e))
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
