<?php
declare(strict_types=1);

// No framework, no Composer: the five classes of this directory.
foreach (['CodedError', 'Address', 'WithdrawalRules', 'Config', 'Coldpool', 'App'] as $class) {
    require_once __DIR__ . "/$class.php";
}
