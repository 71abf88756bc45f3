<?php
declare(strict_types=1);

/**
 * The command-line door to the example app, driven by test/php-webapp.test.ts
 * (each call is its own PHP process with its own connection, like a web
 * worker). Configuration as for the web app (README.md): environment only,
 * never argv.
 *
 *   php contract-test.php call METHOD PATH [JSON-BODY]   one route of App; prints {"status", "body"}
 *   php contract-test.php attack < statements.json       each statement as the web account; prints [{"errno", "error"}]
 *   php contract-test.php addresses < [{address, network}]   Address::parse of each; prints [{type, dust_sat} | {code, reason}]
 *   php contract-test.php amounts < [{sat} | {btc}]      WithdrawalRules::parseSat/parseBtc; prints [{sat} | {code, reason}]
 *   php contract-test.php statements                     every SQL statement of Coldpool, by name (checked against sql/README.md)
 */
require __DIR__ . '/../src/bootstrap.php';

use Coldpool\Address;
use Coldpool\App;
use Coldpool\CodedError;
use Coldpool\Coldpool;
use Coldpool\Config;
use Coldpool\WithdrawalRules;

function out(mixed $value): void
{
    echo json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
}

function stdinJson(): array
{
    return json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
}

/** Each item through `fn`; a CodedError becomes {code, reason}. */
function each(array $items, callable $fn): array
{
    return array_map(function ($item) use ($fn) {
        try {
            return $fn($item);
        } catch (CodedError $e) {
            return ['code' => $e->errorCode, 'reason' => $e->reason];
        }
    }, $items);
}

$command = $argv[1] ?? '';
switch ($command) {
    case 'call':
        $config = Config::load();
        $app = new App(function () use ($config): Coldpool {
            static $db = null;
            return $db ??= Coldpool::connect($config);
        }, $config->setSize);
        $url = parse_url($argv[3] ?? '/');
        parse_str($url['query'] ?? '', $query);
        [$status, $body] = $app->handle($argv[2] ?? 'GET', $url['path'] ?? '/', $query, isset($argv[4]) ? json_decode($argv[4], true, 8, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING) : []);
        out(['status' => $status, 'body' => $body]);
        break;
    case 'attack':
        // What an attacker holding the web host and its password can send: raw SQL as coldpool_web.
        $c = Config::load();
        $pdo = new PDO(sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $c->host, $c->port, $c->database), $c->user, $c->password, [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false,
        ]);
        $pdo->exec('SET NAMES utf8mb4 COLLATE utf8mb4_bin');
        out(array_map(function (string $sql) use ($pdo) {
            try {
                return ['errno' => 0, 'rows' => $pdo->exec($sql)];
            } catch (PDOException $e) {
                return ['errno' => (int) ($e->errorInfo[1] ?? 0), 'error' => $e->errorInfo[2] ?? $e->getMessage()];
            }
        }, stdinJson()));
        break;
    case 'addresses':
        out(each(stdinJson(), fn (array $v) => array_intersect_key(Address::parse($v['address'], $v['network']), ['type' => 1, 'dust_sat' => 1])));
        break;
    case 'amounts':
        out(each(stdinJson(), fn (array $v) => ['sat' => array_key_exists('btc', $v) ? WithdrawalRules::parseBtc($v['btc']) : WithdrawalRules::parseSat($v['sat'])]));
        break;
    case 'statements':
        // CLAIM_SET is the shared head of the two claim UPDATEs, not a statement of its own.
        $sql = array_filter((new ReflectionClass(Coldpool::class))->getConstants(), fn ($v, $k) => is_string($v) && $k !== 'CLAIM_SET' && preg_match('/^(SELECT|INSERT|UPDATE|SET) /', $v), ARRAY_FILTER_USE_BOTH);
        out($sql);
        break;
    default:
        fwrite(STDERR, "usage: php contract-test.php call|attack|addresses|amounts|statements …\n");
        exit(2);
}
