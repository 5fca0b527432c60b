// Echo server on node's `ws` (installed into tests/interop/node by npm ci), for make interop.
//
//     node tests/interop/node/echo_server.js CERT KEY PORTFILE
//
// Listens on 127.0.0.1 with ports the kernel picks: one ws:// (http server) and one
// wss:// (https server; CERT is the chain, KEY its key). Writes "ws=PORT wss=PORT" to
// PORTFILE once both listen, then serves until killed. Each message goes back as it came
// (text as text, binary as binary); pings and the close handshake are ws's own (it echoes
// the close code and reason). ws's defaults are kept (100 MiB maxPayload, no deflate
// unless offered). Each wss:// connection prints "wss: tls VERSION SUITE" once its TLS
// handshake is done (TLSv1.3 TLS_AES_256_GCM_SHA384, say): make interop checks the version.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const [cert, key, portfile] = process.argv.slice(2);

function attach(server, name) {
  const wss = new WebSocketServer({ server });
  server.on('secureConnection', (socket) =>
    console.log(`${name}: tls ${socket.getProtocol()} ${socket.getCipher().standardName}`));
  wss.on('connection', (ws, req) => {
    console.log(`${name}: connection from ${req.socket.remoteAddress}:${req.socket.remotePort}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => console.log(`${name}: closed ${code} ${reason}`));
    ws.on('error', (err) => console.log(`${name}: error ${err.message}`));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

(async () => {
  console.log(`ws ${require('ws/package.json').version} node ${process.version}`);
  const ports = await Promise.all([
    attach(http.createServer(), 'ws'),
    attach(https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }), 'wss'),
  ]);
  fs.writeFileSync(portfile + '.tmp', `ws=${ports[0]} wss=${ports[1]}\n`);
  fs.renameSync(portfile + '.tmp', portfile);
})();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
