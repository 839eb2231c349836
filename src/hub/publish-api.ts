import type { App } from "../app/app.js";
import type { SluiceRequest } from "../http/request.js";
import { historyQuery } from "./history-query.js";
import type { HubOptions } from "./hub-options.js";
import { answeredAsProblems } from "./hub-problem.js";
import { checkBatch, publishBatch, publishChecked } from "./publish-batch.js";
import { FORM_TYPE, JSON_TYPE, readPublishBody } from "./publish-body.js";
import { checkMessage } from "./publish-message.js";
import { PublishRate } from "./publish-rate.js";
import { type Publisher, PublisherAuth } from "./publisher-auth.js";
import { TopicGate } from "./topic-gate.js";
import { topicPath } from "./topic-path.js";

/**
 * The publish API of `sluice hub`, for backends in any language (docs/hub.md, "Publish API"):
 * `POST /publish`, `POST /publish/batch`, `GET /topics/{topic}/history` and
 * `GET /topics/{topic}/presence` (a topic may hold `/`: topic-path.ts), authenticated by a publish key or a JWT, rate-limited per
 * publisher, every refusal an `application/problem+json` document, and nothing published
 * when a request is refused.
 */
export function publishApi(app: App, options: HubOptions): void {
  const auth = new PublisherAuth(options);
  const rate = new PublishRate(options.publishRate.burst, options.publishRate.perSecond);
  const gate = new TopicGate(options.topics);

  /** The request's publisher, refused before its body is read when it has no token left. */
  const admitted = async (request: SluiceRequest): Promise<Publisher> => {
    const publisher = await auth.authenticate(request);
    rate.admit(publisher.id);
    return publisher;
  };

  app.post(
    "/publish",
    answeredAsProblems(async (request) => {
      const publisher = await admitted(request);
      const body = await readPublishBody(request, options.maxBody, [JSON_TYPE, FORM_TYPE]);
      const message = checkMessage(body);
      const topic = gate.check(message.topic, publisher.grants, "publish");
      rate.spend(publisher.id, 1);
      return { id: await publishChecked(app, { ...message, topic }) };
    }),
  );

  app.post(
    "/publish/batch",
    answeredAsProblems(async (request) => {
      const publisher = await admitted(request);
      const body = await readPublishBody(request, options.maxBody, [JSON_TYPE]);
      const messages = checkBatch(body, gate, publisher.grants);
      rate.spend(publisher.id, messages.length);
      return { ids: await publishBatch(app, messages) };
    }),
  );

  // One wildcard route for /topics/{topic}/history and /presence: a topic may hold "/".
  app.get(
    "/topics/*",
    answeredAsProblems(async (request) => {
      const { topic, view } = topicPath(request.params["*"], request.method);
      const publisher = await admitted(request);
      const query = view === "history" ? historyQuery(request.query) : undefined;
      const checked = gate.check(topic, publisher.grants, "subscribe");
      rate.spend(publisher.id, 1);
      if (query === undefined) return { members: await app.presence(checked) };
      const messages = await app.history(checked, query);
      return {
        messages: messages.map(({ id, event, data }) => ({ id, event: event ?? "message", data })),
      };
    }),
  );
}
