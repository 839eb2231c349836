# Publish to a sluice hub from Ruby, standard library only: ruby publish.rb news '{"title":"hi"}'
require "json"
require "net/http"

def publish(topic, data)
  uri = URI("#{ENV.fetch("HUB_URL", "http://localhost:8080")}/publish")
  response = Net::HTTP.post(uri, { topic: topic, data: data }.to_json,
    "authorization" => "Bearer #{ENV.fetch("SLUICE_PUBLISH_KEY")}",
    "content-type" => "application/json")
  raise "#{response.code}: #{response.body}" unless response.is_a?(Net::HTTPSuccess)
  JSON.parse(response.body)["id"]
end

begin
  puts publish(ARGV[0], JSON.parse(ARGV[1]))
rescue RuntimeError => error
  abort error.message # the hub's problem+json says what to fix
end
