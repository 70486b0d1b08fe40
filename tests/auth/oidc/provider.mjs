// A real OpenID Connect provider for the tests: panva's certified oidc-provider, configured for
// plain HTTP on loopback. Started by tests/auth/oidc/conftest.py with one argument, a JSON file:
//   {"port": 8301, "jwks": {"keys": [<private JWK>]}, "accounts": {"<id>": {"email": ...,
//    "email_verified": true, "password": "...", "amr": ["pwd", "mfa"]}}}
// Clients are registered per test through Dynamic Client Registration (RFC 7591), so each test
// registers its own redirect and back-channel logout URIs. Test-only controls under /test/:
//   POST /test/accounts/<id>/disable   the agency switches the account off (refresh then fails)
//   POST /test/reset                   every account back on, no tampering (between tests)
//   POST /test/tamper?kind=<kind>      the next ID token is tampered with (signature, audience,
//                                      nonce, expiry, issuer) after the provider signed it
// It prints "listening <issuer>" once it accepts requests.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK } from 'jose';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const accounts = settings.accounts;
const disabled = new Set();
let tamper = null;

const configuration = {
  jwks: settings.jwks,
  cookies: { keys: ['test-only-cookie-key'] },
  features: {
    devInteractions: { enabled: false }, // our own minimal login page below
    registration: { enabled: true }, // open registration: a test server on loopback only
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // The ID token carries the email and the authentication methods itself (as Entra ID and
  // NHS CIS2 do), not only the userinfo endpoint.
  conformIdTokenClaims: false,
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Refresh tokens for clients allowed the grant, without forcing a consent prompt.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // First-party clients: no consent screen; the grant covers what is asked.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!grant) {
      grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
    }
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account || disabled.has(id)) return undefined; // switched off at the agency
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: account.email_verified,
          name: account.name || id,
        };
      },
    };
  },
  // Outgoing calls (the back-channel logout POST) go to the tracker on 127.0.0.1, which the
  // provider's SSRF guard refuses as a special-use address: this loopback-only test server
  // drops the guard, and allows a loaded test machine more than the default 2.5 seconds.
  fetch: (url, { dispatcher, signal, ...options }) => globalThis.fetch(url, {
    ...options,
    signal: AbortSignal.timeout(30_000),
  }),
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 86400, Session: 86400, Grant: 86400 },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('backchannel.error', (ctx, err) => console.error('backchannel.error', err.message, err.cause));

const page = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test identity provider</title></head><body><main>${body}</main></body></html>`;

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function reSign(idToken, kind) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = await importJWK(settings.jwks.keys[0], header.alg);
  if (kind === 'signature') key = (await generateKeyPair(header.alg)).privateKey; // same kid
  // Another client's token that names this client as its authorized party (azp): only an
  // audience check catches it.
  if (kind === 'audience') Object.assign(claims, { azp: claims.aud, aud: 'some-other-client' });
  if (kind === 'nonce') claims.nonce = 'a-nonce-this-sign-in-never-sent';
  if (kind === 'expiry') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (kind === 'issuer') claims.iss = 'http://127.0.0.1:1/another-issuer';
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/test\/accounts\/([^/]+)\/disable$/);
  if (ctx.method === 'POST' && match) {
    disabled.add(decodeURIComponent(match[1]));
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/reset') {
    disabled.clear();
    tamper = null;
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/tamper') {
    tamper = ctx.query.kind;
    ctx.status = 204;
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page(`<h1>Test identity provider: sign in</h1>
<form method="post" action="/interaction/${escape(details.uid)}">
<label for="login">Username</label> <input id="login" name="login" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in to the identity provider</button></form>`);
      return;
    }
    const form = await readForm(ctx.req);
    const id = form.get('login');
    const account = accounts[id];
    if (!account || disabled.has(id) || account.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('<h1>Wrong username or password</h1>');
      return;
    }
    ctx.respond = false; // interactionFinished writes the redirect itself
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: id, amr: account.amr || ['pwd'], acr: account.acr } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  await next();
  if (ctx.oidc?.route === 'token' && tamper && ctx.status === 200 && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await reSign(ctx.body.id_token, tamper) };
    tamper = null;
  }
});

provider.listen(settings.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
