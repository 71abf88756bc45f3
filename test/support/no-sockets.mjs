// Preload (`node --import`) that makes any socket an error: a TCP or IPC
// connection or server (net, and through it http, https, tls), a UDP socket
// (dgram) or a DNS lookup. Each attempt prints NO_SOCKETS_MARKER on stderr
// before throwing, so a caller that swallows the error is still caught.
// Built-ins only: it must load beside the offline bundle.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const MARKER = 'NO_SOCKETS: attempted';
const refuse = (what) => () => {
  process.stderr.write(`${MARKER} ${what}\n`);
  throw new Error(`no-sockets preload: ${what} is not allowed here`);
};
net.Socket.prototype.connect = refuse('net.Socket.connect');
net.Server.prototype.listen = refuse('net.Server.listen');
net.connect = net.createConnection = refuse('net.connect');
dgram.createSocket = refuse('dgram.createSocket');
dgram.Socket.prototype.bind = refuse('dgram.Socket.bind');
dgram.Socket.prototype.send = refuse('dgram.Socket.send');
dns.lookup = refuse('dns.lookup');
dns.resolve = refuse('dns.resolve');
dns.promises.lookup = refuse('dns.promises.lookup');
// The patched functions must also be what `import { connect } from 'node:net'` sees.
syncBuiltinESMExports();
