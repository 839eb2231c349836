/**
 * `sluice/jwt`: JSON Web Token middleware on `jose`. Importing `sluice` alone never loads
 * jose; this entry point does (an optional peer dependency: `npm install jose`).
 *
 * ```ts
 * import { jwtAuth } from "sluice/jwt";
 * app.use(jwtAuth({ secret: process.env.JWT_SECRET!, algorithms: ["HS256"], issuer: "me" }));
 * app.get("/me", (req) => req.state.auth); // the token's payload
 * ```
 */
export type { JWTPayload } from "jose";
export { type JwtAuthOptions, jwtAuth } from "./jwt-auth.js";
