<?php
declare(strict_types=1);

namespace Coldpool;

/**
 * Withdrawal destinations, checked for the pool's network the way coldpool's
 * operator tool checks them (src/core/address.ts), with the same reason codes:
 * a request the app lets through would otherwise be marked `invalid` at the
 * operator's first read. Pure PHP, no extension beyond hash():
 *
 * - P2PKH, P2SH: base58check with the network's version byte;
 * - P2WPKH, P2WSH: bech32, witness v0, 20 or 32 bytes (BIP173);
 * - P2TR: bech32m, v1, 32 bytes; v2..v16: bech32m, 2..40 bytes (BIP350).
 *
 * The database cannot check any of this (the schema has no address CHECK),
 * hence the code here.
 */
final class Address
{
    /** name => [bech32 hrp, P2PKH version, P2SH version]; signet shares testnet's. */
    public const NETWORKS = [
        'mainnet' => ['bc', 0x00, 0x05],
        'testnet' => ['tb', 0x6f, 0xc4],
        'signet' => ['tb', 0x6f, 0xc4],
        'regtest' => ['bcrt', 0x6f, 0xc4],
    ];
    private const KNOWN_HRPS = ['bcrt', 'bc', 'tb'];
    private const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
    private const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    private const BECH32 = 1;
    private const BECH32M = 0x2bc830a3;

    /**
     * @return array{address: string, type: string, dust_sat: int}
     * @throws CodedError INVALID_INPUT, or NETWORK_MISMATCH for address_network
     */
    public static function parse(mixed $text, string $network): array
    {
        [$hrpOfNetwork] = self::NETWORKS[$network] ?? throw new \InvalidArgumentException("unknown network $network");
        if (!is_string($text) || $text === '') throw self::fail('address_format', '"address" expected a bitcoin address, got ' . CodedError::show($text));
        if (strlen($text) > 90 || preg_match('/\s/', $text)) {
            throw self::fail('address_format', '"address" expected a bitcoin address without spaces, at most 90 characters, got ' . CodedError::show($text));
        }
        $lower = strtolower($text);
        $sep = strrpos($lower, '1');
        $hrp = $sep !== false && $sep > 0 ? substr($lower, 0, $sep) : '';
        if (in_array($hrp, self::KNOWN_HRPS, true)) return self::parseSegwit($text, $hrp, $network, $hrpOfNetwork);
        $base58 = preg_match('/^[1-9A-HJ-NP-Za-km-z]+$/', $text) === 1;
        if ($base58) return self::parseBase58($text, $network);
        if ($sep !== false && $sep > 0 && self::bech32Decode($lower) !== null) {
            throw self::fail('address_network', "\"address\" expected a $network address ({$hrpOfNetwork}1…), got the unknown prefix \"$hrp\" in " . CodedError::show($text));
        }
        throw self::fail('address_format', '"address" expected a valid base58check or bech32/bech32m address, got ' . CodedError::show($text));
    }

    private static function fail(string $reason, string $message): CodedError
    {
        return new CodedError($reason === 'address_network' ? 'NETWORK_MISMATCH' : 'INVALID_INPUT', $message, $reason);
    }

    /** Core's GetDustThreshold at 3 sat/vB: (output + spending input) × 3. P2PKH 546, P2SH 540, P2WPKH 294, P2WSH 330, P2TR 330. */
    private static function dust(int $scriptLength, bool $witness): int
    {
        $spend = $witness ? 32 + 4 + 1 + intdiv(107, 4) + 4 : 32 + 4 + 1 + 107 + 4;
        return intdiv((8 + 1 + $scriptLength + $spend) * 3000, 1000);
    }

    private static function parseBase58(string $text, string $network): array
    {
        $payload = self::base58CheckDecode($text);
        if ($payload === null) throw self::fail('address_checksum', '"address" has a bad base58check checksum: ' . CodedError::show($text));
        if (strlen($payload) !== 21) throw self::fail('address_format', '"address" expected a 21-byte base58check payload, got ' . strlen($payload) . ' bytes in ' . CodedError::show($text));
        $version = ord($payload[0]);
        [, $p2pkh, $p2sh] = self::NETWORKS[$network];
        if ($version === $p2pkh) return ['address' => $text, 'type' => 'p2pkh', 'dust_sat' => self::dust(25, false)];
        if ($version === $p2sh) return ['address' => $text, 'type' => 'p2sh', 'dust_sat' => self::dust(23, false)];
        foreach (self::NETWORKS as $name => [, $a, $b]) {
            if ($version === $a || $version === $b) {
                throw self::fail('address_network', "\"address\" expected a $network address, got a " . ($name === 'mainnet' ? 'mainnet' : 'test network') . ' address ' . CodedError::show($text));
            }
        }
        throw self::fail('address_format', sprintf('"address" has the unknown base58 version byte 0x%02x: %s', $version, CodedError::show($text)));
    }

    /** The payload of a base58check string, or null when its 4-byte double-SHA256 checksum does not match. */
    private static function base58CheckDecode(string $text): ?string
    {
        $bytes = []; // big-endian, little arithmetic: 58 × value + digit, byte by byte
        foreach (str_split($text) as $c) {
            $carry = strpos(self::BASE58, $c);
            for ($i = count($bytes) - 1; $i >= 0; $i--) {
                $carry += $bytes[$i] * 58;
                $bytes[$i] = $carry & 0xff;
                $carry >>= 8;
            }
            while ($carry > 0) {
                array_unshift($bytes, $carry & 0xff);
                $carry >>= 8;
            }
        }
        $zeros = strspn($text, '1');
        $raw = str_repeat("\0", $zeros) . pack('C*', ...$bytes);
        if (strlen($raw) < 5) return null;
        $payload = substr($raw, 0, -4);
        $check = substr(hash('sha256', hash('sha256', $payload, true), true), 0, 4);
        return hash_equals($check, substr($raw, -4)) ? $payload : null;
    }

    private static function parseSegwit(string $text, string $hrp, string $network, string $hrpOfNetwork): array
    {
        if ($text !== strtolower($text) && $text !== strtoupper($text)) {
            throw self::fail('address_mixed_case', '"address" mixes upper and lower case (BIP173 refuses it): ' . CodedError::show($text));
        }
        if ($hrp !== $hrpOfNetwork) {
            throw self::fail('address_network', "\"address\" expected a $network address ({$hrpOfNetwork}1…), got \"{$hrp}1…\": " . CodedError::show($text));
        }
        $decoded = self::bech32Decode(strtolower($text));
        if ($decoded === null) throw self::fail('address_checksum', '"address" has a bad bech32/bech32m checksum or character: ' . CodedError::show($text));
        [$words, $variant] = $decoded;
        if ($words === []) throw self::fail('address_format', '"address" has an empty data part: ' . CodedError::show($text));
        // The order of BIP350's reference decoder: padding, program length, version, v0 length, then the checksum variant.
        $version = $words[0];
        $program = self::fromWords(array_slice($words, 1));
        if ($program === null) throw self::fail('address_padding', '"address" has invalid padding in its witness program: ' . CodedError::show($text));
        $n = count($program);
        if ($n < 2 || $n > 40) throw self::fail('address_program_length', "\"address\" expected a witness program of 2..40 bytes, got $n: " . CodedError::show($text));
        if ($version > 16) throw self::fail('address_witness_version', "\"address\" expected witness version 0..16, got $version: " . CodedError::show($text));
        if ($version === 0 && $n !== 20 && $n !== 32) {
            throw self::fail('address_program_length', "\"address\" expected a v0 witness program of 20 or 32 bytes (BIP141), got $n: " . CodedError::show($text));
        }
        if ($version === 0 && $variant !== self::BECH32) {
            throw self::fail('address_bech32_variant', '"address" is witness v0 encoded with bech32m; v0 requires bech32 (BIP350): ' . CodedError::show($text));
        }
        if ($version > 0 && $variant !== self::BECH32M) {
            throw self::fail('address_bech32_variant', "\"address\" is witness v$version encoded with bech32; v1+ requires bech32m (BIP350): " . CodedError::show($text));
        }
        if ($version === 1 && $n !== 32) {
            throw self::fail('address_program_length', "\"address\" expected a v1 (taproot) witness program of 32 bytes, got $n: " . CodedError::show($text));
        }
        $type = $version === 0 ? ($n === 20 ? 'p2wpkh' : 'p2wsh') : ($version === 1 ? 'p2tr' : 'witness_unknown');
        return ['address' => $text, 'type' => $type, 'dust_sat' => self::dust(2 + $n, true)];
    }

    /**
     * BIP173/BIP350 decoding of a lower-case string: [data words without the
     * checksum, BECH32 or BECH32M], or null (bad character, length or checksum).
     *
     * @return array{0: list<int>, 1: int}|null
     */
    public static function bech32Decode(string $lower): ?array
    {
        $sep = strrpos($lower, '1');
        if ($sep === false || $sep < 1 || $sep + 7 > strlen($lower) || strlen($lower) > 90) return null;
        $hrp = substr($lower, 0, $sep);
        $values = [];
        foreach (str_split($hrp) as $c) {
            if (ord($c) < 33 || ord($c) > 126) return null;
        }
        foreach (str_split(substr($lower, $sep + 1)) as $c) {
            $v = strpos(self::CHARSET, $c);
            if ($v === false) return null;
            $values[] = $v;
        }
        $expanded = [];
        foreach (str_split($hrp) as $c) $expanded[] = ord($c) >> 5;
        $expanded[] = 0;
        foreach (str_split($hrp) as $c) $expanded[] = ord($c) & 31;
        $check = self::polymod([...$expanded, ...$values]);
        if ($check !== self::BECH32 && $check !== self::BECH32M) return null;
        return [array_slice($values, 0, -6), $check];
    }

    private static function polymod(array $values): int
    {
        $gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
        $chk = 1;
        foreach ($values as $v) {
            $top = $chk >> 25;
            $chk = (($chk & 0x1ffffff) << 5) ^ $v;
            for ($i = 0; $i < 5; $i++) {
                if (($top >> $i) & 1) $chk ^= $gen[$i];
            }
        }
        return $chk;
    }

    /** 5-bit words to bytes without padding; null on more than 4 padding bits or non-zero padding. */
    private static function fromWords(array $words): ?array
    {
        $acc = 0;
        $bits = 0;
        $out = [];
        foreach ($words as $w) {
            $acc = (($acc << 5) | $w) & 0xfff;
            $bits += 5;
            while ($bits >= 8) {
                $bits -= 8;
                $out[] = ($acc >> $bits) & 0xff;
            }
        }
        if ($bits >= 5 || (($acc << (8 - $bits)) & 0xff) !== 0) return null;
        return $out;
    }
}
