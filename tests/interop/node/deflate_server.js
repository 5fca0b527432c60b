// Echo server on node's `ws` with perMessageDeflate: true (its defaults otherwise), for
// make interop-deflate (tests/interop/deflate.sh).
//
//     node tests/interop/node/deflate_server.js CERT KEY PORTFILE
//
// Listens on 127.0.0.1 with ports the kernel picks: one ws:// (http server) and one
// wss:// (https server; CERT is the chain, KEY its key). Writes "ws=PORT wss=PORT" to
// PORTFILE once both listen, then serves until killed. Each message goes back as it came.
//
// When a connection ends it prints one line, what the suite checks:
//     conn PATH | offer: OFFER | answer: ANSWER | params cw=N sw=N cnct=B snct=B |
//     messages N rsv1 N
// OFFER and ANSWER are the Sec-WebSocket-Extensions request and response headers, params
// what ws's own PerMessageDeflate object accepted (ws._extensions; a window not named is
// 15 bits), messages the data messages received and rsv1 how many arrived compressed
// (ws inflates only messages whose first frame had RSV1: its decompress calls are counted).
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const [cert, key, portfile] = process.argv.slice(2);

function params(pmd) {
  if (!pmd) return 'none';
  const p = pmd.params;
  const bits = (v) => (typeof v === 'number' ? v : 15);
  return `cw=${bits(p.client_max_window_bits)} sw=${bits(p.server_max_window_bits)} ` +
    `cnct=${p.client_no_context_takeover ? 1 : 0} snct=${p.server_no_context_takeover ? 1 : 0}`;
}

function serveDeflate(server) {
  const wss = new WebSocketServer({ server, perMessageDeflate: true, maxPayload: 4 << 20 });
  wss.on('headers', (headers, req) => {
    const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
    req.wspAnswer = h ? h.replace(/^[^:]*:\s*/, '') : '-';
  });
  wss.on('connection', (ws, req) => {
    const pmd = ws._extensions['permessage-deflate'];
    const seen = { messages: 0, rsv1: 0 };
    if (pmd) {
      const decompress = pmd.decompress.bind(pmd);
      pmd.decompress = (data, fin, cb) => {
        if (!pmd.wspInMessage) seen.rsv1++;   // the first frame of a compressed message
        pmd.wspInMessage = !fin;
        return decompress(data, fin, cb);
      };
    }
    ws.on('message', (data, isBinary) => {
      seen.messages++;
      ws.send(data, { binary: isBinary });
    });
    ws.on('close', () => console.log(`conn ${req.url} | offer: ${req.headers['sec-websocket-extensions'] || '-'} | ` +
      `answer: ${req.wspAnswer} | params ${params(pmd)} | messages ${seen.messages} rsv1 ${seen.rsv1}`));
    ws.on('error', (err) => console.log(`${req.url}: error ${err.message}`));
  });
}

console.log(`ws ${require('ws/package.json').version} node ${process.version}`);
const servers = [http.createServer(), https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })];
servers.forEach(serveDeflate);
Promise.all(servers.map((s) => new Promise((listening) => s.listen(0, '127.0.0.1', listening)))).then(() => {
  const [plain, tls] = servers.map((s) => s.address().port);
  fs.writeFileSync(`${portfile}.tmp`, `ws=${plain} wss=${tls}\n`);
  fs.renameSync(`${portfile}.tmp`, portfile);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
