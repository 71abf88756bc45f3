<?php
declare(strict_types=1);

namespace Coldpool;

use PDO;
use PDOException;

/**
 * The web app's side of the coldpool database: one method per statement
 * group of sql/README.md, with the SQL exactly as written there. Runs as the
 * `coldpool_web` account of sql/mysql/grants.sql, which can hand out
 * addresses and queue requests but cannot approve, sign, pay, or rewrite an
 * address or a request: a compromised web host holding this class and its
 * password still cannot move money.
 *
 * Every method is safe to retry: an assignment is once per user, a claim with
 * a ref returns the same address, a request is once per app id.
 */
final class Coldpool
{
    /** sql/README.md: "the library retries 8 times with a short random pause". */
    private const LOCK_RETRIES = 8;
    // Every statement, verbatim from sql/README.md (test/php-webapp.test.ts checks that each one is there).
    private const MAX_SET_SIZE = 10_000;

    private const CLAIM_SET = "UPDATE addresses FORCE INDEX (ix_addresses_claim) SET status = 'assigned', user_id = ?, ref = ?, assigned_at = UTC_TIMESTAMP(3), handed_out_at = UTC_TIMESTAMP(3), claim_id = LAST_INSERT_ID(id) ";
    private const CLAIM_IN_SLOT = self::CLAIM_SET . "WHERE status = 'available' AND slot = CAST(? AS UNSIGNED) ORDER BY idx LIMIT 1";
    private const CLAIM_ANY_SLOT = self::CLAIM_SET . "WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1";
    private const READ_BACK = 'SELECT address, idx, assigned_at FROM addresses WHERE id = LAST_INSERT_ID()';
    private const HAND_OUT = "UPDATE addresses FORCE INDEX (ix_addresses_user) SET handed_out_at = UTC_TIMESTAMP(3), ref = ?, claim_id = LAST_INSERT_ID(id) WHERE user_id = ? AND handed_out_at IS NULL AND status = 'assigned' AND claim_id IS NULL ORDER BY idx LIMIT 1";
    private const SET_PICK = "SELECT id FROM addresses FORCE INDEX (ix_addresses_handout) WHERE status = 'available' AND chain = 0 ORDER BY idx LIMIT ? FOR UPDATE SKIP LOCKED";
    private const UNHANDED = "SELECT address, idx FROM addresses WHERE user_id = ? AND handed_out_at IS NULL AND status = 'assigned' AND claim_id IS NULL ORDER BY idx";
    private const UNHANDED_COUNT = "SELECT COUNT(*) AS n FROM addresses WHERE user_id = ? AND handed_out_at IS NULL AND status = 'assigned' AND claim_id IS NULL";
    private const SET_ASSIGN = "UPDATE addresses SET status = 'assigned', user_id = ?, assigned_at = UTC_TIMESTAMP(3) WHERE id IN (?) AND status = 'available'";
    private const SET_OF = 'SELECT size FROM address_sets WHERE user_id = ?';
    private const SET_LOCK = 'SELECT size FROM address_sets WHERE user_id = ? FOR UPDATE';
    private const SET_CREATE = 'INSERT INTO address_sets (user_id, size) VALUES (?, ?)';
    private const SET_GROW = 'UPDATE address_sets SET size = size + ? WHERE user_id = ?';
    private const CLAIMED_BY_REF = 'SELECT address, idx, user_id, assigned_at FROM addresses WHERE ref = ?';
    private const EMAIL_SAVE = 'INSERT INTO user_emails (user_id, email) VALUES (?, ?) ON DUPLICATE KEY UPDATE email = ?';
    private const EMAIL_OF = 'SELECT email FROM user_emails WHERE user_id = ?';
    private const REQUEST = 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)';
    private const REQUEST_BY_APP_ID = 'SELECT id, app_id, user_id, destination, amount_sat, status, created_at, updated_at, reason FROM withdrawals WHERE app_id = ?';
    private const REQUEST_BY_ID = 'SELECT id, app_id, user_id, destination, amount_sat, status, created_at, updated_at, reason FROM withdrawals WHERE id = ?';
    private const REQUESTS_OF = 'SELECT id, app_id, amount_sat, status, created_at, reason FROM withdrawals WHERE user_id = ? ORDER BY id DESC';
    private const RELAY = 'INSERT INTO withdrawal_confirmations (withdrawal_id, token) VALUES (?, ?)';
    private const SESSION = 'SET NAMES utf8mb4 COLLATE utf8mb4_bin';

    private int $slot;

    public function __construct(private readonly PDO $pdo, private readonly string $network)
    {
        // A per-process slot counter that moves on by one each claim (sql/README.md, step 2).
        $this->slot = random_int(0, 63);
    }

    /** Connect as sql/README.md says: native prepares, exceptions, and the one collation rule. */
    public static function connect(Config $config): self
    {
        $dsn = sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $config->host, $config->port, $config->database);
        for ($attempt = 0; ; $attempt++) {
            try {
                $pdo = new PDO($dsn, $config->user, $config->password, [
                    PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                    PDO::ATTR_EMULATE_PREPARES => false,
                    PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                ]);
                break;
            } catch (PDOException $e) {
                // 1040: the server is at max_connections (a burst of workers); a moment later there is room.
                if (preg_match('/\[1040\]/', $e->getMessage()) === 1 && $attempt < 5) {
                    usleep(random_int(20_000, 100_000) * ($attempt + 1));
                    continue;
                }
                throw new CodedError('UNAVAILABLE', "could not connect to {$config->host}:{$config->port}/{$config->database} as {$config->user}: " . $e->getMessage(), null, $e);
            }
        }
        // Without it the claim's WHERE compares across collations and scans the table (8 claims/s instead of 1,400).
        $pdo->exec(self::SESSION);
        return new self($pdo, $config->network);
    }

    public function network(): string
    {
        return $this->network;
    }

    // --- Addresses per user (schema 009) -------------------------------------

    /**
     * Give `user` their own set of `count` deposit addresses at signup, all or
     * none (`coldpool pool assign`). A user who has a set keeps it: kind
     * `existing`, nothing written; `add` gives such a user `count` more.
     *
     * @return array{kind: 'assigned'|'existing'|'added', size: int, unhanded: list<array{address: string, index: int}>}
     */
    public function assign(string $user, int $count, bool $add = false): array
    {
        self::checkId('user', $user);
        if ($count < 1 || $count > self::MAX_SET_SIZE) throw new CodedError('INVALID_INPUT', '"count" expected an integer 1..' . self::MAX_SET_SIZE . ", got $count");
        $kind = $this->retrying(fn () => $this->transaction(function () use ($user, $count, $add): string {
            $kind = 'assigned';
            if ($add && $this->one(self::SET_LOCK, [$user]) !== null) $kind = 'added';
            if ($kind === 'assigned') {
                try {
                    $this->run(self::SET_CREATE, [$user, $count]);
                } catch (PDOException $e) {
                    if (self::errno($e) !== 1062) throw $e;
                    if (!$add) return 'existing'; // the transaction rolls back: nothing written
                    $kind = 'added'; // a concurrent signup created it after our locking read found none
                }
            }
            if ($kind === 'added') $this->run(self::SET_GROW, [$count, $user]);
            $this->fill($user, $count);
            return $kind;
        }, fn (string $kind) => $kind !== 'existing'));
        $size = (int) $this->one(self::SET_OF, [$user])['size'];
        return ['kind' => $kind, 'size' => $size, 'unhanded' => $this->unhanded($user)];
    }

    /** What is left of a user's set, in the order claims hand it out. @return list<array{address: string, index: int}> */
    public function unhanded(string $user): array
    {
        self::checkId('user', $user);
        return array_map(fn (array $r) => ['address' => $r['address'], 'index' => (int) $r['idx']], $this->all(self::UNHANDED, [$user]));
    }

    /**
     * Lock `n` available receive addresses (SKIP LOCKED: concurrent signups
     * take disjoint rows) and assign them to `user`, inside the caller's
     * transaction; POOL_EMPTY (the caller rolls back) when the pool is short.
     */
    private function fill(string $user, int $n): void
    {
        $st = $this->pdo->prepare(self::SET_PICK);
        $st->bindValue(1, $n, PDO::PARAM_INT); // a string LIMIT is a syntax error under native prepares
        $st->execute();
        $ids = array_map('intval', $st->fetchAll(PDO::FETCH_COLUMN));
        if (count($ids) < $n) throw new CodedError('POOL_EMPTY', "a set of $n addresses for user " . CodedError::show($user) . ' needs more available addresses than the pool has; nothing was assigned');
        $marks = implode(', ', array_fill(0, $n, '?'));
        $changed = $this->run(str_replace('IN (?)', "IN ($marks)", self::SET_ASSIGN), [$user, ...$ids]); // one placeholder per id
        if ($changed !== $n) throw new CodedError('INTERNAL', "a set of $n locked " . count($ids) . " rows but assigned $changed");
    }

    /** Refill a low set back to its size, in one transaction holding the set's row. Returns how many were added. */
    private function topUp(string $user): int
    {
        return $this->transaction(function () use ($user): int {
            $set = $this->one(self::SET_LOCK, [$user]);
            if ($set === null) return 0;
            $size = (int) $set['size'];
            $n = (int) $this->one(self::UNHANDED_COUNT, [$user])['n'];
            if ($n >= self::lowWater($size)) return 0;
            $this->fill($user, $size - $n);
            return $size - $n;
        });
    }

    /** A set is topped up when fewer than a tenth of its size (at least 1) is left (src/core/address-sets.ts). */
    private static function lowWater(int $size): int
    {
        return max(1, (int) ceil($size / 10));
    }

    // --- The claim -----------------------------------------------------------

    /**
     * Hand out one deposit address: the set's next one for a user with a set
     * (topped up when low), else one of the pool. With a ref (your own
     * deposit-request id) a retry returns the same address, `reused: true`.
     *
     * @return array{address: string, index: int, assigned_at: string, reused: bool, source?: 'set'|'pool'}
     */
    public function claim(string $user, ?string $ref = null): array
    {
        self::checkId('user', $user);
        if ($ref !== null) {
            self::checkId('ref', $ref);
            if ($prior = $this->claimedByRef($ref, $user)) return $prior;
        }
        if ($this->one(self::SET_OF, [$user]) === null) {
            return $this->claimFromPool($user, $ref);
        }
        $handOut = fn () => $this->claimOnce($user, $ref, self::HAND_OUT, [$ref, $user]);
        $topUpFailed = false;
        $topUp = function () use ($user, &$topUpFailed): void {
            try {
                $this->topUp($user);
            } catch (CodedError $e) {
                if ($e->errorCode !== 'POOL_EMPTY') throw $e;
                $topUpFailed = true; // a pool too short for the refill does not fail the claim
            }
        };
        $taken = $handOut();
        if ($taken === null) { // used up (an earlier top-up found the pool short): refill it first
            $topUp();
            $taken = $handOut();
        }
        if ($taken === null) return $this->claimFromPool($user, $ref); // still an address while the pool has any
        if (!$taken['reused'] && !$topUpFailed) $topUp();
        return $taken + ['source' => 'set'];
    }

    private function claimFromPool(string $user, ?string $ref): array
    {
        $this->slot = ($this->slot + 1) % 64;
        $taken = $this->claimOnce($user, $ref, self::CLAIM_IN_SLOT, [$user, $ref, $this->slot])
            ?? $this->claimOnce($user, $ref, self::CLAIM_ANY_SLOT, [$user, $ref]);
        if ($taken === null) throw new CodedError('POOL_EMPTY', 'no deposit address available; retry later (the operator is alerted by the watcher)');
        return $taken + ['source' => 'pool'];
    }

    /**
     * One claim UPDATE in autocommit mode and its read-back on the same
     * connection; null when it changed no row. Retried on deadlock and lock
     * timeout; 1062 on the ref means a concurrent request with that ref won.
     */
    private function claimOnce(string $user, ?string $ref, string $sql, array $params): ?array
    {
        try {
            return $this->retrying(function () use ($sql, $params): ?array {
                if ($this->run($sql, $params) === 0) return null;
                $row = $this->pdo->query(self::READ_BACK)->fetch();
                return ['address' => $row['address'], 'index' => (int) $row['idx'], 'assigned_at' => self::utc($row['assigned_at']), 'reused' => false];
            });
        } catch (PDOException $e) {
            if (self::errno($e) === 1062 && $ref !== null && ($prior = $this->claimedByRef($ref, $user))) return $prior;
            throw $e;
        }
    }

    private function claimedByRef(string $ref, string $user): ?array
    {
        $row = $this->one(self::CLAIMED_BY_REF, [$ref]);
        if ($row === null) return null;
        if ($row['user_id'] !== $user) throw new CodedError('STATE_CONFLICT', '"ref" ' . CodedError::show($ref) . ' was used for another user\'s claim', 'ref_other_user');
        return ['address' => $row['address'], 'index' => (int) $row['idx'], 'assigned_at' => self::utc($row['assigned_at']), 'reused' => true];
    }

    // --- Users' emails (schema 008) -------------------------------------------

    /** The address the verifier mails confirmation links to (it mirrors this, and holds a changed one 24 h). */
    public function saveEmail(string $user, string $email): void
    {
        self::checkId('user', $user);
        if (strlen($email) > 254 || !filter_var($email, FILTER_VALIDATE_EMAIL)) throw new CodedError('INVALID_INPUT', '"email" expected an email address, got ' . CodedError::show($email), 'email_invalid');
        $this->run(self::EMAIL_SAVE, [$user, $email, $email]);
    }

    // --- Withdrawal requests --------------------------------------------------

    /**
     * Queue a withdrawal request, once per app id. The rules are checked
     * first (WithdrawalRules: the operator tool's own); the user must be
     * known (have an email: the verifier could not reach them otherwise).
     * Only the four columns are written: status starts `requested` and only
     * the operator moves it.
     *
     * @param array<string, mixed> $input app_id, user, address, amount_sat | amount_btc
     * @return array{kind: 'created'|'existing', withdrawal: array<string, mixed>}
     */
    public function requestWithdrawal(array $input): array
    {
        $req = WithdrawalRules::validate($input, $this->network);
        if ($this->one(self::EMAIL_OF, [$req['user']]) === null) {
            throw new CodedError('NOT_FOUND', '"user" ' . CodedError::show($req['user']) . ' is not a user of this app (no email on record)', 'user_unknown');
        }
        try {
            $this->run(self::REQUEST, [$req['app_id'], $req['user'], $req['destination']['address'], $req['amount_sat']]);
            $kind = 'created';
        } catch (PDOException $e) {
            if (self::errno($e) !== 1062 || !str_contains($e->getMessage(), 'uq_withdrawals_app_id')) throw $e;
            $kind = 'existing';
        }
        $row = $this->one(self::REQUEST_BY_APP_ID, [$req['app_id']]);
        $stored = self::request($row);
        if ($kind === 'existing' && ($stored['user'] !== $req['user'] || $stored['destination'] !== $req['destination']['address'] || $stored['amount_sat'] !== $req['amount_sat'])) {
            throw new CodedError('STATE_CONFLICT', '"app_id" ' . CodedError::show($req['app_id']) . ' is already used by another request', 'app_id_reused');
        }
        return ['kind' => $kind, 'withdrawal' => $stored + ['destination_type' => $req['destination']['type']]];
    }

    /** One request, only if it is `user`'s: the database cannot restrict rows per user, the app must. */
    public function withdrawal(int $id, string $user): array
    {
        $row = $this->one(self::REQUEST_BY_ID, [$id]);
        if ($row === null || $row['user_id'] !== $user) throw new CodedError('NOT_FOUND', "no withdrawal request $id for user " . CodedError::show($user));
        return self::request($row);
    }

    /** A user's requests, newest first. @return list<array<string, mixed>> */
    public function withdrawals(string $user): array
    {
        self::checkId('user', $user);
        return array_map(fn (array $r) => [
            'id' => (string) $r['id'], 'app_id' => $r['app_id'], 'amount_sat' => (int) $r['amount_sat'], 'status' => $r['status'],
            'created_at' => self::utc($r['created_at']), 'reason' => $r['reason'],
        ], $this->all(self::REQUESTS_OF, [$user]));
    }

    // --- The verifier's confirmation -------------------------------------------

    /**
     * Hand on the token of a confirmation link exactly as received. The web
     * account may INSERT it and nothing else (no read-back): whether it is
     * right only the verifier knows.
     */
    public function relayConfirmation(mixed $withdrawalId, mixed $token): void
    {
        $id = is_int($withdrawalId) ? $withdrawalId : (is_string($withdrawalId) && preg_match('/^[1-9]\d{0,17}$/', $withdrawalId) ? (int) $withdrawalId : 0);
        if ($id < 1) throw new CodedError('INVALID_INPUT', '"w" expected a positive withdrawal id, got ' . CodedError::show($withdrawalId), 'withdrawal_invalid');
        if (!is_string($token) || !preg_match('/^[\x21-\x7e]{1,200}$/', $token)) {
            throw new CodedError('INVALID_INPUT', '"t" expected 1..200 printable characters without spaces (the t= part of the confirmation link)', 'token_invalid');
        }
        $this->run(self::RELAY, [$id, $token]);
    }

    // --- Plumbing --------------------------------------------------------------

    private static function request(array $r): array
    {
        return [
            'id' => (string) $r['id'], 'app_id' => $r['app_id'], 'user' => $r['user_id'], 'destination' => $r['destination'],
            'amount_sat' => (int) $r['amount_sat'], 'status' => $r['status'], 'created_at' => self::utc($r['created_at']),
            'updated_at' => $r['updated_at'] === null ? null : self::utc($r['updated_at']), 'reason' => $r['reason'],
        ];
    }

    /** DATETIME(3) in UTC as ISO-8601, the way coldpool prints times. */
    private static function utc(string $datetime): string
    {
        return str_replace(' ', 'T', $datetime) . (str_contains($datetime, '.') ? '' : '.000') . 'Z';
    }

    private static function checkId(string $field, string $text): void
    {
        if (preg_match('/^.{1,190}$/su', $text) !== 1) { // 1..190 characters of valid UTF-8 (no mbstring needed)
            throw new CodedError('INVALID_INPUT', "\"$field\" expected 1..190 characters, got " . CodedError::show($text), $field === 'user' ? 'user_invalid' : "{$field}_invalid");
        }
    }

    private static function errno(PDOException $e): int
    {
        return (int) ($e->errorInfo[1] ?? 0);
    }

    /** Run `fn` again after a deadlock (1213) or lock wait timeout (1205): nothing was changed. */
    private function retrying(callable $fn): mixed
    {
        for ($attempt = 0; ; $attempt++) {
            try {
                return $fn();
            } catch (PDOException $e) {
                if (!in_array(self::errno($e), [1213, 1205], true) || $attempt >= self::LOCK_RETRIES) throw $e;
                usleep(random_int(0, 5000) * ($attempt + 1));
            }
        }
    }

    /** `fn` in one transaction: committed when `keep` says so (default: always), rolled back on any throw. */
    private function transaction(callable $fn, ?callable $keep = null): mixed
    {
        $this->pdo->beginTransaction();
        try {
            $result = $fn();
            if ($keep === null || $keep($result)) $this->pdo->commit();
            else $this->pdo->rollBack();
            return $result;
        } catch (\Throwable $e) {
            if ($this->pdo->inTransaction()) $this->pdo->rollBack();
            throw $e;
        }
    }

    /** A prepared statement; returns the rows it changed. */
    private function run(string $sql, array $params): int
    {
        $st = $this->pdo->prepare($sql);
        $st->execute($params);
        return $st->rowCount();
    }

    private function one(string $sql, array $params): ?array
    {
        $st = $this->pdo->prepare($sql);
        $st->execute($params);
        $row = $st->fetch();
        return $row === false ? null : $row;
    }

    private function all(string $sql, array $params): array
    {
        $st = $this->pdo->prepare($sql);
        $st->execute($params);
        return $st->fetchAll();
    }
}
