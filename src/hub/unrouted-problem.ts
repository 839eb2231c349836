import { HttpError } from "../http/http-error.js";
import type { Middleware } from "../http/middleware-chain.js";
import { problemResponse } from "./hub-problem.js";

/**
 * The hub's middleware for what no route answers: the App's 404 (no route for the path) and
 * 405 (a method the path has no route for, with its `Allow`) become `application/problem+json`
 * documents like every other refusal of the hub. The App's own answers are left to apps that
 * are not the hub.
 */
export const unroutedAsProblems: Middleware = async (request, next) => {
  try {
    return await next();
  } catch (error) {
    if (error instanceof HttpError && (error.status === 404 || error.status === 405)) {
      return problemResponse(error, request);
    }
    throw error;
  }
};
