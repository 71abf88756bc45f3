<?php
declare(strict_types=1);

namespace Coldpool;

/**
 * The PHP twin of coldpool's CodedError (src/core/errors.ts): a stable `code`
 * (INVALID_INPUT, NETWORK_MISMATCH, NOT_FOUND, STATE_CONFLICT, POOL_EMPTY,
 * UNAVAILABLE, INTERNAL), for withdrawal intake a stable `reason` (the same
 * strings the operator tool writes into `withdrawals.reason`), and a message
 * that names the field, what was expected and what came.
 */
final class CodedError extends \RuntimeException
{
    public function __construct(
        public readonly string $errorCode,
        string $message,
        public readonly ?string $reason = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }

    /** Quote a received value for a message, cut short like show() in src/core/errors.ts. */
    public static function show(mixed $value): string
    {
        $text = is_string($value) ? (json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE) ?: '"?"') : var_export($value, true);
        return strlen($text) > 80 ? substr($text, 0, 77) . '...' : $text;
    }

    /** @return array{code: string, reason?: string, message: string} */
    public function toArray(): array
    {
        return ['code' => $this->errorCode] + ($this->reason === null ? [] : ['reason' => $this->reason]) + ['message' => $this->getMessage()];
    }
}
