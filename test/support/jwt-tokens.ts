// Real JWTs for the expiry, refresh and topics-claim tests: HS256, signed with jose.
import assert from "node:assert/strict";
import { type JWTPayload, SignJWT } from "jose";
import { type JwtAuthOptions, jwtAuth } from "../../src/jwt/index.js";

export const SECRET = "a-test-secret-that-is-32-bytes-long!";

/** jwtAuth on SECRET, taking the token from `?access_token=` and the `bearer` subprotocol too. */
export function testJwtAuth(options: Partial<JwtAuthOptions> = {}) {
  return jwtAuth({
    secret: SECRET,
    algorithms: ["HS256"],
    queryParam: "access_token",
    subprotocol: "bearer",
    ...options,
  });
}

/**
 * A token for `sub` that expires in one to two seconds (JWT `exp` has a resolution of one
 * second: the next whole second but one), or at `exp` when given (seconds; null: no `exp`).
 */
export async function signToken(
  claims: Omit<JWTPayload, "exp"> & { exp?: number | null } = {},
): Promise<{ token: string; expiresAt: number | undefined }> {
  const { exp = Math.ceil(Date.now() / 1000) + 1, ...rest } = claims;
  const jwt = new SignJWT({ sub: "ada", ...rest }).setProtectedHeader({ alg: "HS256" });
  if (exp !== null) jwt.setExpirationTime(exp);
  const token = await jwt.sign(new TextEncoder().encode(SECRET));
  return { token, expiresAt: exp === null ? undefined : exp * 1000 };
}

/** Asserts `at` (ms) is within [expiresAt − 50, expiresAt + 500]: never before, soon after. */
export function assertEndedOnTime(at: number, expiresAt: number | undefined, what: string): void {
  assert.ok(expiresAt !== undefined, `${what}: the token has no expiry`);
  const late = at - expiresAt;
  assert.ok(
    late >= -50 && late <= 500,
    `${what} ended ${late} ms after the expiry (expected between -50 and 500)`,
  );
}
