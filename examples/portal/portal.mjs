// portal.mjs: the smallest portal that launches trustlaunch sessions, in
// Node.js with its standard library only (docs/portal.md). Each click on
// "Launch session" mints a single-use ticket, the ticket fetches a launch
// descriptor once, and each descriptor carries a new session token.
// Configuration: the same environment variables as examples/portal/main.go.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const env = process.env;
const config = {
  listen: env.PORTAL_LISTEN || "127.0.0.1:8443",
  issuer: env.PORTAL_ISSUER || "https://portal.example.com",
  proxy: env.PROXY_ADDRESS || "proxy.example.com:8443",
  proxyCA: env.PROXY_CA ? readFileSync(env.PROXY_CA, "utf8") : "",
  destination: env.DESTINATION || "mainframe.example.com:23",
  profile: env.PROFILE || "c3270",
};
config.audience = env.PROXY_AUDIENCE || config.proxy;
const TICKET_LIFETIME_MS = 60_000; // the browser opens the link at once
const TOKEN_LIFETIME_S = 120; // the proxy accepts at most 300

const b64url = (data) => Buffer.from(data).toString("base64url");

// The signing key, from `trustlaunch descriptor keygen` (Ed25519 or P-256).
const signingKey = createPrivateKey(readFileSync(env.PORTAL_SIGNING_KEY || "portal.key"));
const alg = signingKey.asymmetricKeyType === "ed25519" ? "EdDSA" : "ES256";
if (alg === "ES256" && signingKey.asymmetricKeyDetails.namedCurve !== "prime256v1") {
  throw new Error("the signing key must be Ed25519 or ECDSA P-256");
}

// kid: the RFC 7638 thumbprint of the public key, the name the proxy finds
// the key by. The required members, in lexicographic order, no spaces.
const jwk = createPublicKey(signingKey).export({ format: "jwk" });
const kid = b64url(createHash("sha256").update(JSON.stringify(
  alg === "EdDSA" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y },
)).digest());

// issueToken mints a session token (the contract: docs/proxy.md).
function issueToken({ audience, destination, subject }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, kid, typ: "trustlaunch-token+jwt" };
  const claims = {
    iss: config.issuer, sub: subject, aud: audience, dst: destination,
    iat: now, exp: now + TOKEN_LIFETIME_S, jti: b64url(randomBytes(16)),
  };
  const input = b64url(JSON.stringify(header)) + "." + b64url(JSON.stringify(claims));
  const signature = alg === "EdDSA"
    ? sign(null, Buffer.from(input), signingKey)
    // JWS wants ECDSA's raw R||S (RFC 7518 section 3.4), not DER.
    : sign("sha256", Buffer.from(input), { key: signingKey, dsaEncoding: "ieee-p1363" });
  return { token: input + "." + b64url(signature), claims };
}

const tickets = new Map(); // ticket -> { user, expires }
let origin = env.PORTAL_ORIGIN;

// The user's click: mint a ticket, answer with the link.
function launch(req, res) {
  // The signed-in user: set here by an authenticating reverse proxy; in
  // your portal, from its own session.
  const user = req.headers["x-remote-user"];
  if (!user) {
    res.writeHead(401).end("sign in first\n");
    return;
  }
  for (const [t, old] of tickets) if (old.expires < Date.now()) tickets.delete(t);
  const ticket = b64url(randomBytes(32));
  tickets.set(ticket, { user, expires: Date.now() + TICKET_LIFETIME_MS });
  const link = "trustlaunch://launch?url=" + encodeURIComponent(`${origin}/descriptor?ticket=${ticket}`);
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(`<a href="${link}">Launch session</a>\n`);
}

// trustlaunch fetching the descriptor: the ticket is used up whatever
// happens, and the descriptor carries a new token.
function descriptor(req, res, url) {
  const ticket = url.searchParams.get("ticket") || "";
  const entry = tickets.get(ticket);
  tickets.delete(ticket);
  if (!entry || entry.expires < Date.now()) {
    res.writeHead(404).end("this launch link was used or has expired: start the session again\n");
    return;
  }
  const { token, claims } = issueToken({ audience: config.audience, destination: config.destination, subject: entry.user });
  console.log(`descriptor for ${entry.user}: token jti ${claims.jti}`); // the jti, never the token

  const sep = config.destination.lastIndexOf(":");
  const proxy = { address: config.proxy, transport: "connect" };
  if (config.proxyCA) proxy.ca_pem = config.proxyCA;
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify({
    version: 1,
    session: "Mainframe (TN3270)",
    profile: config.profile,
    proxy,
    destination: { host: config.destination.slice(0, sep).replace(/^\[(.*)\]$/, "$1"), port: Number(config.destination.slice(sep + 1)) },
    token,
  }));
}

const server = createServer({ cert: readFileSync(env.PORTAL_TLS_CERT), key: readFileSync(env.PORTAL_TLS_KEY) }, (req, res) => {
  const url = new URL(req.url, origin);
  if (req.method === "GET" && url.pathname === "/launch") return launch(req, res);
  if (req.method === "GET" && url.pathname === "/descriptor") return descriptor(req, res, url);
  res.writeHead(404).end();
});
const sep = config.listen.lastIndexOf(":");
server.listen(Number(config.listen.slice(sep + 1)), config.listen.slice(0, sep), () => {
  origin ||= `https://${config.listen.slice(0, sep)}:${server.address().port}`;
  console.log(`portal listening on ${origin}`);
});
