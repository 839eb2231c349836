// HTTP/2 as clients from outside Node see it: curl (--http2 over TLS, --http2-prior-knowledge
// for h2c) and nghttp (Debian package nghttp2-client), which shows the frames: many SSE
// streams on one connection, each receiving its events.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { after, before, describe, test } from "node:test";
import { type App, SseEvent } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { describeRun, runCommand } from "./support/command.js";
import { outsideTool } from "./support/outside-tool.js";
import { listenOptions, type Protocol } from "./support/protocols.js";
import { openssl, testCertificate } from "./support/test-certificate.js";

const curl = outsideTool("curl", "curl");
const nghttp = outsideTool("nghttp", "nghttp2-client");

/** An app with a greeting and an SSE route that sends `n` events, then ends. */
function outsideApp(): App {
  const app = quietApp();
  app.get("/hello", (req) => ({ hello: "world", version: req.raw.httpVersion }));
  app.sse("/events", async function* (req) {
    const n = Number(req.query.get("n") ?? 3);
    for (let index = 1; index <= n; index++) {
      yield new SseEvent({ id: String(index), data: `event ${index}` });
    }
  });
  return app;
}

function run(command: string, args: string[]) {
  return runCommand(command, args, { cwd: tmpdir(), timeout: 15_000 });
}

for (const protocol of ["h2", "h2c"] as Protocol[]) {
  const tls = protocol === "h2";
  describe(`outside clients over ${protocol}`, { skip: tls && openssl.skip }, () => {
    let app: App;
    let url: string;
    let certFile: string;
    before(async () => {
      app = outsideApp();
      ({ url } = await app.listen(await listenOptions(protocol)));
      if (tls) ({ certFile } = await testCertificate());
    });
    after(() => app.close());

    /** curl's arguments to speak this protocol (and trust the test certificate). */
    const curlArgs = () => (tls ? ["--http2", "--cacert", certFile] : ["--http2-prior-knowledge"]);

    test("curl gets its answer over HTTP/2", { skip: curl.skip }, async () => {
      const result = await run(curl.require(), [
        ...["--silent", "--show-error", ...curlArgs()],
        ...["--write-out", "\\n%{http_version} %{http_code}", `${url}/hello`],
      ]);
      assert.equal(result.code, 0, describeRun("curl", result));
      const [body, status] = result.stdout.split("\n");
      assert.deepEqual(JSON.parse(body), { hello: "world", version: "2.0" });
      assert.equal(status, "2 200");
    });

    test("curl -N reads an SSE stream to its end over HTTP/2", { skip: curl.skip }, async () => {
      const result = await run(curl.require(), [
        ...["--silent", "--show-error", "--no-buffer", ...curlArgs()],
        `${url}/events?n=3`,
      ]);
      assert.equal(result.code, 0, describeRun("curl", result));
      assert.equal(
        result.stdout,
        "id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\n",
      );
    });

    test("nghttp: 20 SSE streams share one connection, each gets its events", {
      skip: nghttp.skip,
    }, async () => {
      const urls = Array.from({ length: 20 }, (_, index) => `${url}/events?n=2&stream=${index}`);
      // -v prints every frame; nghttp puts all the URIs on one connection.
      const result = await run(nghttp.require(), ["-v", ...urls]);
      assert.equal(result.code, 0, describeRun("nghttp", result));
      const connections = result.stdout.match(/Connected/g) ?? [];
      assert.equal(connections.length, 1, "one connection");
      const opened = result.stdout.match(
        /send HEADERS frame <length=\d+, flags=0x\w+, stream_id=\d+>/g,
      );
      assert.equal(opened?.length, 20, "twenty streams");
      const ok = result.stdout.match(/recv \(stream_id=\d+\) :status: 200/g);
      assert.equal(ok?.length, 20, "twenty 200s");
      assert.equal(result.stdout.split("data: event 2\n").length - 1, 20, "every stream's events");
    });
  });
}
