"""What the admin reads when a pasted key is refused (docs/security.md, "Key paste rules").

Every message is plain text of at most two sentences that says what to paste instead; none
echoes the pasted text. `keys.parse_spki_pem` raises them via `KeyRejected` and re-exports them.
"""

from __future__ import annotations

_USE_INSTEAD = "Use an Ed25519, P-256 (ES256) or RSA (RS256/PS256) key."
MSG_TOO_LARGE = (
    "This is too large to be a public key (over 10,000 characters). "
    "Paste only the -----BEGIN PUBLIC KEY----- block."
)
MSG_EMPTY = "No key was pasted. Paste the -----BEGIN PUBLIC KEY----- block of your signing key."
MSG_PRIVATE = (
    "This is a private key. Never paste a private key: consider it exposed, rotate it "
    "(create a new key pair) and paste only the new PUBLIC key (-----BEGIN PUBLIC KEY-----)."
)
MSG_PRIVATE_JWK = (
    "This JWK contains private key material. Never paste a private key: consider it exposed, "
    "rotate it and paste only the PUBLIC key as a -----BEGIN PUBLIC KEY----- block."
)
MSG_JWK = (
    "JWK/JSON keys aren't accepted. Paste the key as a PEM -----BEGIN PUBLIC KEY----- block "
    "instead (your JOSE library can export it)."
)
MSG_OPENSSH = (
    "OpenSSH public keys aren't accepted. Convert it with `ssh-keygen -e -m PKCS8 -f key.pub` "
    "and paste the -----BEGIN PUBLIC KEY----- block it prints."
)
MSG_OPENSSH_ED25519 = (
    "OpenSSH keys aren't accepted, and ssh-keygen can't export Ed25519 keys as PEM. Create a "
    "dedicated signing key (`openssl genpkey -algorithm ed25519 -out key.pem`) and paste the "
    "output of `openssl pkey -in key.pem -pubout`."
)
MSG_SSH2 = (
    "SSH2 (RFC 4716) public keys aren't accepted. For RSA or ECDSA keys, convert with "
    "`ssh-keygen -i -f key.pub > openssh.pub` then `ssh-keygen -e -m PKCS8 -f openssh.pub`."
)
MSG_CERTIFICATE = (
    "Certificates aren't accepted. Extract the public key with "
    "`openssl x509 -in cert.pem -pubkey -noout` and paste that block."
)
MSG_CSR = (
    "Certificate requests aren't accepted. Extract the public key with "
    "`openssl req -in request.pem -pubkey -noout` and paste that block."
)
MSG_PKCS1 = (
    "This is a PKCS#1 RSA PUBLIC KEY; only the SPKI form is accepted. Convert it with "
    "`openssl rsa -RSAPublicKey_in -in key.pem -pubout` and paste the result."
)
MSG_NO_PEM = (
    "No PEM block found. Paste the whole key, "
    "from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----."
)
MSG_NOT_PUBLIC_KEY = "This PEM block is not a public key. Paste a -----BEGIN PUBLIC KEY----- block."
MSG_SEVERAL_BLOCKS = (
    "Paste exactly one PEM block; this text contains several. "
    "Keep only the -----BEGIN PUBLIC KEY----- block of your signing key."
)
MSG_TEXT_BEFORE = "Remove the text before -----BEGIN PUBLIC KEY-----; paste only the PEM block."
MSG_TEXT_AFTER = "Remove the text after -----END PUBLIC KEY-----; paste only the PEM block."
MSG_MISSING_END = (
    "Malformed PEM: the -----END PUBLIC KEY----- line is missing. "
    "Copy the whole block, including its last line."
)
MSG_MARKER_LINES = (
    "Malformed PEM: the -----BEGIN PUBLIC KEY----- and -----END PUBLIC KEY----- lines "
    "must each be on a line of their own."
)
MSG_PEM_HEADERS = (
    "Malformed PEM: headers such as Proc-Type or Comment aren't accepted. "
    "Keep only the base64 lines between BEGIN and END."
)
MSG_BAD_BASE64 = (
    "Malformed PEM: the lines between BEGIN and END are not valid base64. "
    "Copy the block again without changing it."
)
MSG_UNREADABLE = (
    "Malformed or non-canonical key: the block is not a valid DER public key (truncated, "
    "corrupted, BER-encoded or with extra bytes). Copy it again, or re-export it with "
    "`openssl pkey -pubin -in key.pem -pubout`."
)
MSG_UNSUPPORTED_ALGORITHM = f"Unsupported key type. {_USE_INSTEAD}"
MSG_UNSUPPORTED_TYPE = "Unsupported key type ({name}). " + _USE_INSTEAD
MSG_CURVE = (
    "Only P-256 (ES256) is supported for EC keys; this key uses {curve}. "
    "Create a P-256 or Ed25519 key instead."
)
MSG_RSA_SIZE = (
    "RSA keys must be 2048–8192 bits; this one is {bits} bits. "
    "Create a new RSA key of 2048, 3072 or 4096 bits."
)
MSG_RSA_EXPONENT = (
    "Unsupported RSA public exponent: only 65537 is accepted. "
    "Create a new RSA key with the standard exponent (every common tool's default)."
)
MSG_RSA_MODULUS = (
    "Invalid RSA modulus: it is even, so this cannot be a real RSA key. Create a new key pair."
)
MSG_ROCA = (
    "Weak RSA key (ROCA, CVE-2017-15361): it was made by a vulnerable Infineon chip and its "
    "private key can be recovered. Create a new key in software or on updated hardware."
)
MSG_ED25519_ENCODING = (
    "Invalid Ed25519 public key: the 32 bytes are not a canonical curve point. "
    "Create a new key pair and paste its public key."
)
MSG_ED25519_SMALL_ORDER = (
    "Invalid Ed25519 public key: it is a small-order point, which would let anyone forge "
    "signatures. Create a new key pair."
)
MSG_EC_COMPRESSED = (
    "Non-canonical key encoding: compressed EC points aren't accepted. Re-export it with "
    "`openssl ec -pubin -in key.pem -pubout -conv_form uncompressed`."
)
MSG_EC_EXPLICIT = (
    "Non-canonical key encoding: EC keys with explicit curve parameters aren't accepted. "
    "Re-export it with `openssl ec -pubin -in key.pem -pubout -param_enc named_curve`."
)
MSG_RSA_PSS = (
    "Non-canonical key encoding: RSA-PSS-only keys (id-RSASSA-PSS) aren't accepted. Convert it "
    "to a plain RSA key: `openssl rsa -pubin -in key.pem -RSAPublicKey_out -outform DER | "
    "openssl rsa -RSAPublicKey_in -inform DER -pubout`."
)
MSG_NON_CANONICAL = (
    "Non-canonical key encoding. Re-export the key with "
    "`openssl pkey -pubin -in key.pem -pubout` and paste the result."
)
