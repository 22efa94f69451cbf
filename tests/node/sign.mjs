// Signs a token exactly like the snippet of docs/identification.md, "Node (`jose`)":
//   new SignJWT(claims).setProtectedHeader({ alg }).setExpirationTime("5m").sign(privateKey)
// stdin: {"privateKeyPem": "<PKCS#8 PEM>", "alg": "EdDSA"|"ES256"|"PS256"|"RS256", "claims": {...}}
// stdout: the compact JWS.
import { SignJWT, importPKCS8 } from "jose";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { privateKeyPem, alg, claims } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const privateKey = await importPKCS8(privateKeyPem, alg);
const jwt = await new SignJWT(claims)
  .setProtectedHeader({ alg })
  .setExpirationTime("5m")
  .sign(privateKey);
process.stdout.write(jwt + "\n");
