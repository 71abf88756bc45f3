<?php
declare(strict_types=1);

namespace Coldpool;

/**
 * The example app's routes, as a function of (method, path, query, body) to
 * (HTTP status, JSON payload): public/index.php serves it over HTTP and
 * tests/contract-test.php calls it from the command line.
 *
 * `user` is a request parameter here only because this example has no login:
 * a real app takes it from its session, never from the request.
 */
final class App
{
    private const STATUS = [
        'INVALID_INPUT' => 400, 'NETWORK_MISMATCH' => 400, 'NOT_FOUND' => 404, 'STATE_CONFLICT' => 409,
        'POOL_EMPTY' => 503, 'UNAVAILABLE' => 503, 'INTERNAL' => 500,
    ];

    public function __construct(private readonly \Closure $connect, private readonly int $setSize = 100)
    {
    }

    /** @return array{0: int, 1: array<string, mixed>} */
    public function handle(string $method, string $path, array $query, array $body): array
    {
        try {
            return $this->route($method, rtrim($path, '/') ?: '/', $query + $body);
        } catch (CodedError $e) {
            if ($e->errorCode === 'UNAVAILABLE' || $e->errorCode === 'INTERNAL') {
                // Hosts, accounts and database names are for the server's log, not for the client.
                error_log('coldpool: ' . $e->getMessage());
                return [self::STATUS[$e->errorCode], ['error' => ['code' => $e->errorCode, 'message' => $e->errorCode === 'UNAVAILABLE' ? 'the database is unavailable; retry later' : 'internal error']]];
            }
            return [self::STATUS[$e->errorCode] ?? 500, ['error' => $e->toArray()]];
        } catch (\PDOException $e) {
            // The full text (SQL, account) goes to the server's log, not to the client.
            error_log('coldpool: database error ' . ($e->errorInfo[1] ?? '?') . ': ' . $e->getMessage());
            return [500, ['error' => ['code' => 'INTERNAL', 'message' => 'database error ' . ($e->errorInfo[1] ?? '?')]]];
        }
    }

    private function route(string $method, string $path, array $p): array
    {
        $pool = fn (): Coldpool => ($this->connect)();
        $user = fn (): string => is_string($p['user'] ?? null) ? $p['user'] : throw new CodedError('INVALID_INPUT', '"user" expected a user id, got ' . CodedError::show($p['user'] ?? null), 'user_invalid');
        switch (true) {
            case $method === 'POST' && $path === '/signup':
                // The email first: the verifier must be able to reach the user before any request.
                $db = $pool();
                $db->saveEmail($user(), is_string($p['email'] ?? null) ? $p['email'] : '');
                $count = $p['count'] ?? $this->setSize;
                if (!is_int($count)) throw new CodedError('INVALID_INPUT', '"count" expected an integer, got ' . CodedError::show($count));
                $set = $db->assign($user(), $count);
                return [$set['kind'] === 'existing' ? 200 : 201, $set];
            case $method === 'POST' && $path === '/address':
                $ref = $p['ref'] ?? null;
                if ($ref !== null && !is_string($ref)) throw new CodedError('INVALID_INPUT', '"ref" expected text, got ' . CodedError::show($ref), 'ref_invalid');
                return [200, $pool()->claim($user(), $ref)];
            case $method === 'GET' && $path === '/addresses':
                return [200, ['unhanded' => $pool()->unhanded($user())]];
            case $method === 'POST' && $path === '/withdrawals':
                $out = $pool()->requestWithdrawal($p);
                return [$out['kind'] === 'created' ? 201 : 200, $out];
            case $method === 'GET' && $path === '/withdrawals':
                return [200, ['withdrawals' => $pool()->withdrawals($user())]];
            case $method === 'GET' && preg_match('#^/withdrawals/([1-9]\d{0,17})$#', $path, $m) === 1:
                return [200, $pool()->withdrawal((int) $m[1], $user())];
            case ($method === 'GET' || $method === 'POST') && $path === '/confirm':
                $pool()->relayConfirmation($p['w'] ?? null, $p['t'] ?? null);
                return [202, ['relayed' => true, 'message' => 'thank you, your confirmation was passed on']];
            default:
                return [404, ['error' => ['code' => 'NOT_FOUND', 'message' => "no route $method $path"]]];
        }
    }
}
