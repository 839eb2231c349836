// A JSON API: params, query, a JSON body, HttpError, and auth middleware.
import { pathToFileURL } from "node:url";
import { App, HttpError, HttpResponse } from "sluice";

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

export function createJsonApp(app = new App()): App {
  const todos = new Map<number, Todo>([[1, { id: 1, title: "try sluice", done: false }]]);
  let nextId = 2;

  // Writes need a token; reads are open.
  app.use(async (req, next) => {
    if (
      req.method !== "GET" &&
      req.method !== "HEAD" &&
      req.header("authorization") !== "Bearer demo"
    ) {
      throw new HttpError(401, "send Authorization: Bearer demo", undefined, {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    return next();
  });

  app.get("/todos", (req) => {
    const done = req.query.get("done");
    const all = [...todos.values()];
    return done === null ? all : all.filter((todo) => String(todo.done) === done);
  });

  app.get("/todos/:id", (req) => {
    const todo = todos.get(Number(req.params.id));
    if (!todo) throw new HttpError(404, `no todo ${req.params.id}`);
    return todo;
  });

  app.post("/todos", async (req) => {
    const body = await req.json<{ title?: unknown }>();
    if (typeof body?.title !== "string" || body.title.trim() === "") {
      throw new HttpError(422, "title must be a non-empty string", { field: "title" });
    }
    const todo = { id: nextId++, title: body.title, done: false };
    todos.set(todo.id, todo);
    return new HttpResponse(todo, { statusCode: 201, headers: { location: `/todos/${todo.id}` } });
  });

  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createJsonApp().listen({ handleSignals: true });
}
