<?php
declare(strict_types=1);

namespace Coldpool;

/**
 * Where the app connects and which network its pool is on. Read from the
 * environment, or from a JSON file named by COLDPOOL_PHP_CONFIG (keys as
 * below, lower case without the prefix: {"host": …, "password_file": …}).
 * The password comes from COLDPOOL_DB_PASSWORD_FILE / "password_file" (a file
 * only the web server's user can read) or COLDPOOL_DB_PASSWORD; never from
 * argv, where every local user's `ps` would show it.
 *
 * The network is configuration, not a database read: the web account may not
 * read `pool_accounts` (grants.sql), so the app is told which network its
 * pool is on, and must be told the same one as `coldpool pool load`.
 */
final class Config
{
    private function __construct(
        public readonly string $host,
        public readonly int $port,
        public readonly string $database,
        public readonly string $user,
        #[\SensitiveParameter] public readonly string $password,
        public readonly string $network,
        public readonly int $setSize,
    ) {
    }

    /** @param array<string, string|false>|null $env defaults to getenv() */
    public static function load(?array $env = null): self
    {
        $env ??= getenv();
        $file = $env['COLDPOOL_PHP_CONFIG'] ?? '';
        $values = [];
        if (is_string($file) && $file !== '') {
            $json = @file_get_contents($file);
            if ($json === false) throw new CodedError('UNAVAILABLE', "config file $file could not be read");
            $values = json_decode($json, true, 8, JSON_THROW_ON_ERROR);
            if (!is_array($values)) throw new CodedError('INVALID_INPUT', "config file $file must hold a JSON object");
        }
        $get = function (string $key, ?string $default = null) use ($env, $values): ?string {
            $v = $values[$key] ?? $env['COLDPOOL_DB_' . strtoupper($key)] ?? $env['COLDPOOL_' . strtoupper($key)] ?? $default;
            return $v === false || $v === null ? $default : (string) $v;
        };
        $passwordFile = $get('password_file');
        $password = $passwordFile !== null ? @file_get_contents($passwordFile) : $get('password', '');
        if ($password === false) throw new CodedError('UNAVAILABLE', "password file $passwordFile could not be read");
        $network = $get('network') ?? throw new CodedError('INVALID_INPUT', 'COLDPOOL_NETWORK (or "network") must name the pool\'s network: mainnet, testnet, signet or regtest');
        if (!isset(Address::NETWORKS[$network])) throw new CodedError('INVALID_INPUT', '"network" expected mainnet, testnet, signet or regtest, got ' . CodedError::show($network));
        $setSize = (int) $get('set_size', '100');
        return new self(
            $get('host', '127.0.0.1'), (int) $get('port', '3306'),
            $get('name') ?? $get('database') ?? throw new CodedError('INVALID_INPUT', 'COLDPOOL_DB_NAME (or "name") must name the database'),
            $get('user', 'coldpool_web'), rtrim($password, "\r\n"), $network, $setSize,
        );
    }
}
