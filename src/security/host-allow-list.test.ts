import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostAllowList, isLoopbackHost } from './host-allow-list.js';

describe('Host allow-list', () => {
  it('allows the loopback names and the listen address on the bound port only', () => {
    const hosts = new HostAllowList('10.1.2.3', 8080, []);
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '10.1.2.3:8080', 'LOCALHOST:8080'])
      assert.equal(hosts.allows(host), true, host);
    for (const host of ['evil.example:8080', 'localhost:8081', 'localhost', '10.1.2.3', '', undefined])
      assert.equal(hosts.allows(host), false, String(host));
  });

  it('leaves out a wildcard listen address and takes configured names with or without a port', () => {
    const hosts = new HostAllowList('0.0.0.0', 8443, ['dash.example.com', 'edge-7:9000']);
    assert.equal(hosts.allows('0.0.0.0:8443'), false);
    assert.equal(hosts.allows('dash.example.com:8443'), true);
    assert.equal(hosts.allows('Dash.Example.com'), true);
    assert.equal(hosts.allows('dash.example.com.:8443'), true, 'a fully qualified name with its dot');
    assert.equal(hosts.allows('edge-7:9000'), true);
    assert.equal(hosts.allows('edge-7:8443'), false);
    assert.equal(hosts.allows('dash.example.com.evil.example:8443'), false);
  });

  it('accepts a Host without port on the default HTTPS and HTTP ports', () => {
    assert.equal(new HostAllowList('127.0.0.1', 443, []).allows('localhost'), true);
    assert.equal(new HostAllowList('127.0.0.1', 80, []).allows('127.0.0.1'), true);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      assert.equal(isLoopbackHost(host), true);
    for (const host of ['0.0.0.0', '10.0.0.1', '::', 'example.com'])
      assert.equal(isLoopbackHost(host), false);
  });
});
