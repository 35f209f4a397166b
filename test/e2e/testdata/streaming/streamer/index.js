// A streaming function for the end-to-end tests of responseTransferMode
// STREAM. The request body (the route sends it as is) picks the behaviour.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  switch (event.mode) {
    case 'ticks': {
      // 10 chunks 100ms apart, each stamped with the time it was written.
      stream.setContentType('text/plain');
      for (let i = 0; i < 10; i++) {
        stream.write(`${i} ${Date.now()}\n`);
        await sleep(100);
      }
      stream.end();
      return;
    }
    case 'big': {
      // event.mib MiB in 64 KiB blocks, waiting when the stream is full.
      stream.setContentType('application/octet-stream');
      const block = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < event.mib * 16; i++) {
        if (!stream.write(block)) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
      return;
    }
    case 'fail-before':
      throw new TypeError('failed before writing');
    case 'fail-after':
      stream.write('partial;');
      await sleep(100);
      throw new RangeError('failed after writing');
    case 'long': {
      // Writes for 10s unless stopped; each write is logged.
      stream.setContentType('text/plain');
      for (let i = 0; i < 100; i++) {
        console.log(`long tick ${i}`);
        stream.write(`tick ${i}\n`);
        await sleep(100);
      }
      stream.end();
      return;
    }
    default: {
      stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { 'content-type': 'text/plain', 'x-mode': 'prelude' } });
      stream.write('hello ');
      await sleep(20);
      stream.end('world');
    }
  }
});
