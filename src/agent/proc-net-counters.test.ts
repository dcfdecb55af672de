import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AgentError } from './errors.js';
import { HostCounterDeltas, hostCountersOf, parseProcNet } from './proc-net-counters.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../src/agent/fixtures/${name}`, import.meta.url), 'latin1');

test('reads the Tcp and TcpExt counters of real /proc/net/snmp and /proc/net/netstat texts', () => {
  const counters = hostCountersOf(
    parseProcNet(fixture('proc-net-snmp.txt')),
    parseProcNet(fixture('proc-net-netstat.txt')),
  );
  const snmp = parseProcNet(fixture('proc-net-snmp.txt')).get('Tcp')!;
  const netstat = parseProcNet(fixture('proc-net-netstat.txt')).get('TcpExt')!;
  assert.equal(counters.outSegs, snmp.get('OutSegs'));
  assert.equal(counters.retransSegs, snmp.get('RetransSegs'));
  assert.equal(counters.currEstab, snmp.get('CurrEstab'));
  assert.equal(counters.timeouts, netstat.get('TCPTimeouts'));
  assert.equal(counters.lostRetransmits, netstat.get('TCPLostRetransmit'));
  assert.ok(counters.outSegs > 0);
  assert.ok(parseProcNet(fixture('proc-net-snmp.txt')).has('Udp'));
});

test('tcp_host events are deltas from the second reading on; currEstab is the gauge', () => {
  const base = hostCountersOf(
    parseProcNet('Tcp: OutSegs RetransSegs CurrEstab\nTcp: 1000 10 5\n'),
    parseProcNet('TcpExt: TCPTimeouts\nTcpExt: 3\n'),
  );
  const later = hostCountersOf(
    parseProcNet('Tcp: OutSegs RetransSegs CurrEstab\nTcp: 1600 14 7\n'),
    parseProcNet('TcpExt: TCPTimeouts\nTcpExt: 4\n'),
  );
  const deltas = new HostCounterDeltas({ edge: 'e', site: 's' });
  assert.equal(deltas.next(base, 1_000, 1_000), null);
  const event = deltas.next(later, 2_000, 1_000)!;
  assert.equal(event.type, 'tcp_host');
  assert.equal(event.outSegs, 600);
  assert.equal(event.retransSegs, 4);
  assert.equal(event.timeouts, 1);
  assert.equal(event.currEstab, 7);
  assert.equal(event.listenDrops, 0, 'a counter the kernel lacks reads 0');
});

test('a text that is not name/value line pairs is an error, not zeros', () => {
  assert.throws(() => parseProcNet('Tcp: A B\nUdp: 1 2\n'), AgentError);
});
