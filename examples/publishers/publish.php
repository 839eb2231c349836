<?php
// Publish to a sluice hub from PHP, no extension needed: php publish.php news '{"title":"hi"}'
function publish(string $topic, mixed $data): string {
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "authorization: Bearer " . getenv('SLUICE_PUBLISH_KEY') . "\r\n"
            . "content-type: application/json\r\n",
        'content' => json_encode(['topic' => $topic, 'data' => $data]),
        'ignore_errors' => true, // a refusal's body is the problem+json saying why
    ]]);
    $body = file_get_contents((getenv('HUB_URL') ?: 'http://localhost:8080') . '/publish', false, $context);
    if ($body === false) throw new RuntimeException('the hub did not answer');
    // $http_response_header[0] is the status line, e.g. "HTTP/1.1 401 Unauthorized".
    if (!str_contains($http_response_header[0], ' 200 ')) throw new RuntimeException("$http_response_header[0]: $body");
    return json_decode($body, true)['id'];
}

try {
    // Objects stay objects ({} is not sent as []): no associative arrays here.
    echo publish($argv[1], json_decode($argv[2], flags: JSON_THROW_ON_ERROR)), "\n";
} catch (Exception $error) {
    fwrite(STDERR, $error->getMessage() . "\n");
    exit(1);
}
