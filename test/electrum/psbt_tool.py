#!/usr/bin/python3
"""PSBTs through Electrum's own library code: sign, verify, create. The
independent implementation `coldpool-offline sign` is checked against
(test/psbt-electrum.test.ts, bench/sign.js).

Run with Debian's system python, where python3-electrum is installed. Requests
are a JSON list on stdin, results a JSON list on stdout (one Electrum start-up
for many operations):

    echo '[{"op": "sign", "net": "regtest", "mnemonic": "...", "psbt": "<base64>"}]' \
        | /usr/bin/python3 test/electrum/psbt_tool.py

Operations:

- sign:   {op, net, mnemonic, passphrase?, derivation?, psbt, repeat?}
          -> {psbt (signed, finalized where complete), tx (hex, when complete), complete,
              inputs_signed, sign_seconds (median of `repeat` runs of keystore.sign_transaction only)}
          The keystore is Electrum's BIP32 keystore from the BIP39 seed at m/84'/c'/0'
          (keystore.from_bip43_rootseed); inputs get the fields Electrum's wallet fills
          before signing (script type from the scriptPubKey, pubkeys from the BIP32
          derivations, one signature), then Electrum's keystore.sign_transaction signs.
- verify: {op, net, psbt} -> {checked, valid, results: [{input, pubkey, valid, sighash}]}
          every partial signature checked with electrum.ecc against the BIP143
          preimage Electrum's PartialTransaction.serialize_preimage computes.
- create: {op, net, mnemonic, passphrase?, derivation?, funding: [tx hex], outputs: [{address, value}], fee}
          -> {psbt (unsigned, base64), txid}: an Electrum Standard_Wallet for the same
          account learns the funding transactions and makes the payout with
          make_unsigned_transaction (its own coin selection, change, BIP32 paths).

Fully offline: sockets and name resolution are disabled before Electrum is
imported; HOME points at a fresh temporary directory, removed on exit.
"""
import atexit
import base64
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time


def _no_network(*_args, **_kwargs):
    raise RuntimeError("psbt_tool.py must stay offline: a socket was requested")


for _name in ("connect", "connect_ex", "sendto", "sendmsg", "bind"):
    setattr(socket.socket, _name, _no_network)
socket.create_connection = _no_network  # type: ignore[assignment]
socket.getaddrinfo = _no_network  # type: ignore[assignment]
_home = tempfile.mkdtemp(prefix="coldpool-electrum-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ["HOME"] = _home
os.environ["XDG_CONFIG_HOME"] = _home

from electrum import constants, ecc, util  # noqa: E402
from electrum import version as electrum_version  # noqa: E402
from electrum.crypto import sha256d  # noqa: E402
from electrum.keystore import bip39_to_seed, from_bip43_rootseed  # noqa: E402
from electrum.transaction import PartialTransaction, PartialTxOutput, Transaction  # noqa: E402

NETS = {
    "mainnet": constants.set_mainnet,
    "testnet": constants.set_testnet,
    "regtest": constants.set_regtest,
    "signet": constants.set_signet,
}


def _keystore(req):
    coin = 0 if req["net"] == "mainnet" else 1
    derivation = req.get("derivation", f"m/84'/{coin}'/0'")
    return from_bip43_rootseed(bip39_to_seed(req["mnemonic"], req.get("passphrase", "")), derivation, xtype="p2wpkh")


def _prepare_inputs(tx):
    """The input fields Electrum's wallet sets for its own P2WPKH coins (Abstract_Wallet.add_input_info)."""
    for txin in tx.inputs():
        if txin.script_type in ("unknown", "address"):
            txin.set_script_type()
        if not txin.pubkeys:
            txin.pubkeys = sorted(txin.bip32_paths.keys())
        txin.num_sig = 1


def _b64(tx):
    return base64.b64encode(tx.serialize_as_bytes(force_psbt=True)).decode("ascii")


def op_sign(req):
    ks = _keystore(req)
    raw = req["psbt"]
    times = []
    tx = None
    for _ in range(max(1, int(req.get("repeat", 1)))):
        tx = PartialTransaction.from_raw_psbt(raw)
        _prepare_inputs(tx)
        started = time.perf_counter()
        ks.sign_transaction(tx, None)
        times.append(time.perf_counter() - started)
    signed = sum(1 for txin in tx.inputs() if txin.part_sigs)
    complete = tx.is_complete()
    out = {"inputs": len(tx.inputs()), "inputs_signed": signed, "complete": complete,
           "sign_seconds": statistics.median(times), "electrum_version": electrum_version.ELECTRUM_VERSION}
    out["psbt"] = _b64(tx)  # finalizes the complete inputs
    if complete:
        out["tx"] = tx.serialize()
    return out


def op_verify(req):
    tx = PartialTransaction.from_raw_psbt(req["psbt"])
    _prepare_inputs(tx)
    results = []
    for i, txin in enumerate(tx.inputs()):
        if not txin.part_sigs:
            continue
        pre_hash = sha256d(bytes.fromhex(tx.serialize_preimage(i)))
        for pubkey, sig in txin.part_sigs.items():
            sig_string = ecc.sig_string_from_der_sig(sig[:-1])
            valid = ecc.ECPubkey(pubkey).verify_message_hash(sig_string, pre_hash) and sig[-1] == 1
            results.append({"input": i, "pubkey": pubkey.hex(), "valid": bool(valid), "sighash": sig[-1]})
    return {"checked": len(results), "valid": sum(1 for r in results if r["valid"]), "results": results}


def op_create(req):
    from electrum.address_synchronizer import TX_HEIGHT_UNCONFIRMED
    from electrum.simple_config import SimpleConfig
    from electrum.wallet import Standard_Wallet
    from electrum.wallet_db import WalletDB

    ks = _keystore(req)
    config = SimpleConfig({"electrum_path": _home})
    db = WalletDB("", manual_upgrades=False)
    db.put("keystore", ks.dump())
    db.put("gap_limit", int(req.get("gap_limit", 30)))
    wallet = Standard_Wallet(db, None, config=config)
    wallet.synchronize()
    for raw in req["funding"]:
        ftx = Transaction(raw)
        wallet.adb.receive_tx_callback(ftx.txid(), ftx, TX_HEIGHT_UNCONFIRMED)
    coins = wallet.get_spendable_coins(None)
    outputs = [PartialTxOutput.from_address_and_value(o["address"], int(o["value"])) for o in req["outputs"]]
    tx = wallet.make_unsigned_transaction(coins=coins, outputs=outputs, fee=int(req["fee"]), rbf=True)
    tx.add_info_from_wallet(wallet)
    return {"psbt": _b64(tx), "txid": tx.txid()}


OPS = {"sign": op_sign, "verify": op_verify, "create": op_create}


def main():
    loop, stop_loop, _thread = util.create_and_start_event_loop()  # Electrum's wallet wants one
    try:
        requests = json.load(sys.stdin)
        results = []
        for req in requests:
            NETS[req["net"]]()
            results.append(OPS[req["op"]](req))
    finally:
        loop.call_soon_threadsafe(stop_loop.set_result, 1)
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
