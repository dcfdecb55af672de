import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import { SaslAuthenticationError } from './sasl-errors.js';
import { makeScramCredential, type ScramCredential, ScramServerExchange } from './scram.js';

const DECOY = Buffer.alloc(32, 7);

/** A client of RFC 5802 written from the RFC, to drive the server through whole exchanges. */
function clientFinal(
  hash: 'sha256' | 'sha512',
  password: string,
  clientFirstBare: string,
  serverFirst: string,
  /** The nonce the client sends back: the server's, unless a client sends it otherwise. */
  nonceAs: (nonce: string) => string = (nonce) => nonce,
): { message: string; serverSignature: string } {
  const fields = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)]));
  const bytes = hash === 'sha256' ? 32 : 64;
  const salted = pbkdf2Sync(
    password,
    Buffer.from(fields.get('s')!, 'base64'),
    Number(fields.get('i')),
    bytes,
    hash,
  );
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonceAs(fields.get('r')!)}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  return {
    message: `${withoutProof},p=${proof.toString('base64')}`,
    serverSignature: createHmac(hash, serverKey).update(authMessage).digest('base64'),
  };
}

describe('SCRAM', () => {
  it("replays RFC 7677's SCRAM-SHA-256 example exchange byte for byte", async () => {
    const credential = await makeScramCredential(
      'SCRAM-SHA-256',
      'pencil',
      4096,
      Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
    );
    const exchange = new ScramServerExchange(
      'SCRAM-SHA-256',
      (user) => (user === 'user' ? credential : null),
      DECOY,
      () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    );
    assert.equal(
      exchange.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')).toString(),
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const final = exchange.step(
      Buffer.from(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    assert.equal(final.toString(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    assert.equal(exchange.authenticatedUser, 'user');
  });

  it('authenticates with SCRAM-SHA-512, escaped names included, and proves itself to the client', async () => {
    const credential = await makeScramCredential('SCRAM-SHA-512', 'tr0ub4dor', 4096);
    const exchange = new ScramServerExchange(
      'SCRAM-SHA-512',
      (user) => (user === 'edge,ops=1' ? credential : null),
      DECOY,
    );
    const bare = 'n=edge=2Cops=3D1,r=abcdefghijkl';
    const serverFirst = exchange.step(Buffer.from(`n,,${bare}`)).toString();
    const { message, serverSignature } = clientFinal('sha512', 'tr0ub4dor', bare, serverFirst);
    assert.equal(exchange.step(Buffer.from(message)).toString(), `v=${serverSignature}`);
    assert.equal(exchange.authenticatedUser, 'edge,ops=1');
  });

  it('accepts the nonce as librdkafka sends it (its client nonce again in front), as Kafka does', async () => {
    const credential = await makeScramCredential('SCRAM-SHA-256', 'pw', 4096);
    const exchange = new ScramServerExchange('SCRAM-SHA-256', () => credential, DECOY);
    const bare = 'n=alice,r=clientnonce';
    const serverFirst = exchange.step(Buffer.from(`n,,${bare}`)).toString();
    const doubled = clientFinal('sha256', 'pw', bare, serverFirst, (nonce) => `clientnonce${nonce}`).message;
    assert.ok(exchange.step(Buffer.from(doubled)).toString().startsWith('v='));
    assert.equal(exchange.authenticatedUser, 'alice');
  });

  it('refuses a wrong password, and an unknown user the same way at the same step', async () => {
    const credential = await makeScramCredential('SCRAM-SHA-256', 'right', 4096);
    const lookup = (user: string): ScramCredential | null => (user === 'alice' ? credential : null);
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['mallory', 'anything'],
    ] as const) {
      const exchange = new ScramServerExchange('SCRAM-SHA-256', lookup, DECOY);
      const bare = `n=${user},r=nonce1234`;
      const serverFirst = exchange.step(Buffer.from(`n,,${bare}`)).toString();
      assert.match(serverFirst, /^r=nonce1234[^,]+,s=[^,]+,i=4096$/);
      const { message } = clientFinal('sha256', password, bare, serverFirst);
      assert.throws(() => exchange.step(Buffer.from(message)), /invalid credentials/);
      assert.equal(exchange.authenticatedUser, null);
    }
    const salt = (user: string) =>
      new ScramServerExchange('SCRAM-SHA-256', lookup, DECOY)
        .step(Buffer.from(`n,,n=${user},r=x`))
        .toString()
        .split(',')[1];
    assert.equal(salt('mallory'), salt('mallory'), 'an unknown user sees the same salt each time');
  });

  it('refuses channel binding, foreign authorization ids, extensions and malformed messages', () => {
    const exchange = () => new ScramServerExchange('SCRAM-SHA-256', () => null, DECOY);
    for (const message of [
      'p=tls-unique,,n=alice,r=x',
      'n,a=bob,n=alice,r=x',
      'n,,n=alice,r=x,m=ext',
      'n,,n=al=ice,r=x',
      'n,,r=x',
      'garbage',
      'x'.repeat(5000),
    ]) {
      assert.throws(
        () => exchange().step(Buffer.from(message)),
        SaslAuthenticationError,
        message.slice(0, 30),
      );
    }
    const started = exchange();
    const nonce = started.step(Buffer.from('y,,n=alice,r=x')).toString().split(',')[0]!.slice(2);
    // 'biws' is the binding of 'n,,': a client that sent 'y,,' must repeat that.
    assert.throws(() => started.step(Buffer.from(`c=biws,r=${nonce},p=AAAA`)), /channel binding/);
  });

  it('refuses iteration counts outside 4096-16384', async () => {
    await assert.rejects(makeScramCredential('SCRAM-SHA-256', 'pw', 1000), RangeError);
    await assert.rejects(makeScramCredential('SCRAM-SHA-256', 'pw', 100_000), RangeError);
  });
});
