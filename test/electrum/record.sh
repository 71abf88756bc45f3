#!/bin/sh
# Record Electrum's addresses once into test/vectors/electrum-*.json, so that
# test/electrum-derive.test.ts can compare against them even where Electrum is
# not installed. Needs Debian's python3-electrum (system /usr/bin/python3).
# Offline: derive_addresses.py opens no connection and touches no wallet.
#
# The keys (see test/vectors/SOURCE.md):
#   ZPUB: BIP84 test mnemonic "abandon ... about", account m/84'/0'/0'
#   VPUB: "legal winner thank year wave sausage worth useful legal winner
#         thank yellow" (BIP39 vector 2, no passphrase), account m/84'/1'/0'
set -eu
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
GEN=test/electrum/derive_addresses.py
OUT=test/vectors
ZPUB=zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs
VPUB=vpub5Z7tYHJX1F6HU5kjQCvS5pnXYCsTyUzKd6VLk4DEReVRjToP2RrewqZ6ekDZAKGL3QJCCbXZouQGpTuajD1fLNZDHEWKZRnM4QWYueP5Kwt

record() { # name net xkey from2
  {
    printf '{"recorded_by": "test/electrum/record.sh", "ranges": [\n'
    "$PY" "$GEN" --xkey "$3" --net "$2" --chain 0 --from 0 --count 1000
    printf ',\n'
    "$PY" "$GEN" --xkey "$3" --net "$2" --chain 0 --from "$4" --count 1000
    printf ']}\n'
  } > "$OUT/electrum-$1.json.tmp"
  mv "$OUT/electrum-$1.json.tmp" "$OUT/electrum-$1.json"
}

record mainnet mainnet "$ZPUB" 99000
record testnet testnet "$VPUB" 2147482648
record regtest regtest "$VPUB" 1000000
