<?php
// Publish to a sluice hub from PHP, no extension needed: php publish.php news '{"title":"hi"}'
function publish(string $topic, mixed $data): string {
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "authorization: Bearer " . getenv('SLUICE_PUBLISH_KEY') . "\r\n"
            . "content-type: application/json\r\n",
        'content' => json_encode(['topic' => $topic, 'data' => $data]),
        'ignore_errors' => true,
    ]]);
    $body = file_get_contents((getenv('HUB_URL') ?: 'http://localhost:8080') . '/publish', false, $context);
    if (!str_contains($http_response_header[0], ' 200 ')) throw new RuntimeException($body);
    return json_decode($body, true)['id'];
}

echo publish($argv[1], json_decode($argv[2], true)), "\n";
