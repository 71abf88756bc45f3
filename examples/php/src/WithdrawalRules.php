<?php
declare(strict_types=1);

namespace Coldpool;

/**
 * The intake rules of a withdrawal request (src/core/withdrawal-rules.ts,
 * src/core/amount.ts), checked before the INSERT so a bad request is refused
 * with its reason instead of being stored and later marked `invalid` by the
 * operator tool. Policy (limits, blocked addresses) is not checked here: it
 * lives on the operator box.
 */
final class WithdrawalRules
{
    /** 21,000,000 BTC in satoshis (consensus MAX_MONEY); the schema's CHECK says the same. */
    public const MAX_MONEY_SAT = 2_100_000_000_000_000;
    /** 1..190 printable characters (VARCHAR(190)), no control or format characters. */
    private const ID_TEXT = '/^[^\p{Cc}\p{Cf}]{1,190}$/u';

    /**
     * @param array<string, mixed> $input app_id, user, address, and amount_sat (integer or digit string) or amount_btc (decimal text)
     * @return array{app_id: string, user: string, destination: array{address: string, type: string, dust_sat: int}, amount_sat: int}
     */
    public static function validate(array $input, string $network): array
    {
        $appId = $input['app_id'] ?? null;
        if (!self::isId($appId)) {
            throw new CodedError('INVALID_INPUT', '"app_id" expected 1..190 printable characters without surrounding spaces, got ' . CodedError::show($appId), 'app_id_invalid');
        }
        $user = $input['user'] ?? null;
        if (!self::isId($user)) {
            throw new CodedError('INVALID_INPUT', '"user" expected 1..190 printable characters without surrounding spaces, got ' . CodedError::show($user), 'user_invalid');
        }
        $destination = Address::parse($input['address'] ?? null, $network);
        $amount = array_key_exists('amount_btc', $input) ? self::parseBtc($input['amount_btc']) : self::parseSat($input['amount_sat'] ?? null);
        if ($amount < $destination['dust_sat']) {
            throw new CodedError('INVALID_INPUT', "\"amount_sat\" expected at least {$destination['dust_sat']} sat (the dust limit of a {$destination['type']} output), got $amount", 'amount_below_dust');
        }
        return ['app_id' => $appId, 'user' => $user, 'destination' => $destination, 'amount_sat' => $amount];
    }

    public static function isId(mixed $text): bool
    {
        return is_string($text) && preg_match(self::ID_TEXT, $text) === 1 && trim($text, " \t\n\r\0\x0B") === $text;
    }

    /** An integer number of satoshis: a JSON integer or a digit string; never a float. */
    public static function parseSat(mixed $value): int
    {
        if (is_int($value)) return self::check($value);
        if (!is_string($value)) throw self::amount('amount_not_a_number', '"amount_sat" expected an integer number of satoshis, got ' . CodedError::show($value));
        if (preg_match('/^\d+[eE]/', $value)) throw self::amount('amount_exponent', '"amount_sat" expected an integer number of satoshis without an exponent, got ' . CodedError::show($value));
        if (preg_match('/^[+-]/', $value)) throw self::amount('amount_sign', '"amount_sat" expected a positive number of satoshis without a sign, got ' . CodedError::show($value));
        if (!preg_match('/^\d+$/', $value)) throw self::amount('amount_not_a_number', '"amount_sat" expected an integer number of satoshis, got ' . CodedError::show($value));
        if (strlen($value) > 19) throw self::amount('amount_above_supply', '"amount_sat" expected at most ' . self::MAX_MONEY_SAT . ' sat, got ' . CodedError::show($value));
        return self::check((int) $value);
    }

    /** BTC text like "0.0015", split at the dot (at most 8 decimals): never through a float. */
    public static function parseBtc(mixed $text): int
    {
        if (!is_string($text)) throw self::amount('amount_not_a_number', '"amount_btc" expected BTC text like "0.0015", got ' . CodedError::show($text));
        if (preg_match('/[eE]/', $text) && preg_match('/\d/', $text)) throw self::amount('amount_exponent', '"amount_btc" expected plain decimal BTC without an exponent, got ' . CodedError::show($text));
        if (preg_match('/^[+-]/', $text)) throw self::amount('amount_sign', '"amount_btc" expected a positive BTC amount without a sign, got ' . CodedError::show($text));
        if (!preg_match('/^(\d+)(?:\.(\d*))?$|^\.(\d+)$/', $text, $m)) {
            throw self::amount('amount_not_a_number', '"amount_btc" expected BTC text like "0.0015" (digits, one optional dot), got ' . CodedError::show($text));
        }
        $whole = ($m[1] ?? '') === '' ? '0' : $m[1];
        $frac = ($m[2] ?? '') !== '' ? $m[2] : ($m[3] ?? '');
        if (strlen($frac) > 8) throw self::amount('amount_too_precise', '"amount_btc" expected at most 8 decimals (1 sat = 0.00000001 BTC), got ' . CodedError::show($text));
        if (strlen($whole) > 9) throw self::amount('amount_above_supply', '"amount_btc" expected at most 21000000 BTC, got ' . CodedError::show($text));
        return self::check((int) $whole * 100_000_000 + (int) str_pad($frac, 8, '0'));
    }

    private static function check(int $sat): int
    {
        if ($sat < 0) throw self::amount('amount_sign', '"amount_sat" expected 1..' . self::MAX_MONEY_SAT . " sat, got $sat");
        if ($sat === 0) throw self::amount('amount_zero', '"amount_sat" expected 1..' . self::MAX_MONEY_SAT . ' sat, got 0');
        if ($sat > self::MAX_MONEY_SAT) throw self::amount('amount_above_supply', '"amount_sat" expected 1..' . self::MAX_MONEY_SAT . " sat (21000000 BTC), got $sat");
        return $sat;
    }

    private static function amount(string $reason, string $message): CodedError
    {
        return new CodedError('INVALID_INPUT', $message, $reason);
    }
}
