<?php
declare(strict_types=1);

/**
 * The web entry point: `php -S 127.0.0.1:8080 -t examples/php/public` or any
 * web server pointing its document root here. JSON in, JSON out.
 */
require __DIR__ . '/../src/bootstrap.php';

use Coldpool\App;
use Coldpool\CodedError;
use Coldpool\Coldpool;
use Coldpool\Config;

$body = [];
$raw = file_get_contents('php://input');
if ($raw !== false && $raw !== '') {
    try {
        // Big integers stay strings (then refused or parsed exactly), never floats.
        $body = json_decode($raw, true, 8, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
    } catch (JsonException) {
        $body = null;
    }
}
if (!is_array($body)) {
    [$status, $payload] = [400, ['error' => (new CodedError('INVALID_INPUT', 'the request body must be a JSON object'))->toArray()]];
} else {
    try {
        $config = Config::load();
        $app = new App(function () use ($config): Coldpool {
            static $db = null; // one connection per request
            return $db ??= Coldpool::connect($config);
        }, $config->setSize);
        $path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
        [$status, $payload] = $app->handle($_SERVER['REQUEST_METHOD'] ?? 'GET', $path, $_GET, $body);
    } catch (CodedError $e) {
        // An incomplete configuration: the details go to the server's log.
        error_log('coldpool: ' . $e->getMessage());
        [$status, $payload] = [503, ['error' => ['code' => 'UNAVAILABLE', 'message' => 'the service is not configured; see the server log']]];
    }
}
http_response_code($status);
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode($payload, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
