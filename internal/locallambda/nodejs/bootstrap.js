'use strict';
// Lambda Runtime API client for Node.js functions run by lambdagate's local
// Lambda service. It follows the contract of the managed nodejs runtime:
// _HANDLER is "path/to/module.export", resolved against LAMBDA_TASK_ROOT;
// async handlers, callback handlers (event, context, callback) and the
// context object (getRemainingTimeInMillis, awsRequestId, ...) are supported.
// Only Node's built-in modules are used.

const http = require('http');
const path = require('path');
const fs = require('fs');
const util = require('util');
const { pathToFileURL } = require('url');

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [apiHost, apiPort] = api.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

let currentRequestId = '';

// Console output is formatted like the managed runtime's:
// "<ISO time>\t<request id>\t<LEVEL>\t<message>".
function patchConsole() {
  const write = (level) => (...args) => {
    const msg = util.format(...args).replace(/\n/g, '\r');
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${msg}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const h = Object.assign({}, headers || {});
    if (data) {
      h['Content-Type'] = h['Content-Type'] || 'application/json';
      h['Content-Length'] = data.length;
    }
    const req = http.request({ host: apiHost, port: apiPort, method, path: base + urlPath, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function errorPayload(err, fallbackType) {
  if (err instanceof Error) {
    const trace = typeof err.stack === 'string' ? err.stack.split('\n') : [];
    return { errorType: err.name || fallbackType, errorMessage: err.message, trace };
  }
  let message;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err);
  } catch (e) {
    message = String(err);
  }
  return { errorType: fallbackType, errorMessage: message, trace: [] };
}

function logError(label, payload) {
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\tERROR\t${util.format(label, JSON.stringify(payload))}\n`);
}

async function postError(urlPath, err, fallbackType) {
  const payload = errorPayload(err, fallbackType);
  logError('Invoke Error', payload);
  await request('POST', urlPath, JSON.stringify(payload), { 'Lambda-Runtime-Function-Error-Type': payload.errorType });
}

// postSync posts body and blocks until the answer (or timeoutMs): a worker
// thread does the request while this thread waits on shared memory. A
// process about to exit must not let its event loop run again, or the loop
// would fetch another invocation into a process that is going away.
const syncPostSource = `
const { workerData } = require('worker_threads');
const http = require('http');
const { host, port, path, body, headers, flag } = workerData;
const done = () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
const req = http.request({ host, port, method: 'POST', path, headers }, (res) => {
  res.on('end', done).on('error', done).resume();
});
req.on('error', done);
req.end(body);
`;

function postSync(urlPath, body, headers, timeoutMs) {
  const { Worker } = require('worker_threads');
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const data = Buffer.from(body);
  const h = Object.assign({ 'Content-Type': 'application/json', 'Content-Length': data.length }, headers);
  const worker = new Worker(syncPostSource, {
    eval: true,
    workerData: { host: apiHost, port: Number(apiPort), path: base + urlPath, body: data, headers: h, flag },
  });
  worker.unref();
  Atomics.wait(flag, 0, 0, timeoutMs);
}

// fatal reports err as the current invocation's error and ends the process,
// as the managed runtime does after an uncaught exception or an unhandled
// rejection: the error is posted before exit, and nothing else runs between.
let dying = false;
function fatal(label, err, code) {
  if (dying) return;
  dying = true;
  const payload = errorPayload(err, 'Runtime.Unknown');
  logError(label, payload);
  if (currentRequestId) {
    try {
      postSync(`/invocation/${currentRequestId}/error`, JSON.stringify(payload), { 'Lambda-Runtime-Function-Error-Type': payload.errorType }, 5000);
    } catch (e) {
      process.stderr.write(`bootstrap: posting the error failed: ${e && e.stack ? e.stack : e}\n`);
    }
  }
  process.exit(code);
}

// Response streaming, as the managed runtime provides it on the global
// awslambda: streamifyResponse marks a handler that is called as
// (event, responseStream, context) and writes its answer to the stream,
// which goes to the Runtime API as a chunked body in streaming mode.
// HttpResponseStream.from puts a JSON prelude (statusCode, headers,
// cookies) and 8 NUL bytes before the body, the content type a function URL
// or a gateway reads as an HTTP response.
const { Writable } = require('stream');
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER_LEN = 8;

class ResponseStream extends Writable {
  constructor(id, options) {
    super(options && options.highWaterMark ? { highWaterMark: options.highWaterMark } : {});
    this._id = id;
    this._contentType = 'application/octet-stream';
    this._req = null;
    this._trailers = null;
    this._onBeforeFirstWrite = null;
    // posted settles when the Runtime API has answered the POST.
    this.posted = new Promise((resolve) => { this._posted = resolve; });
  }

  setContentType(contentType) {
    if (this._req) throw new Error('the content type cannot be set after the first write');
    this._contentType = String(contentType);
  }

  get opened() { return this._req !== null; }

  _open() {
    if (this._req) return;
    const req = http.request({
      host: apiHost, port: apiPort, method: 'POST', agent,
      path: `${base}/invocation/${this._id}/response`,
      headers: {
        'Content-Type': this._contentType,
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    }, (res) => {
      res.resume();
      res.on('end', () => this._posted(res.statusCode));
      res.on('error', () => this._posted(0));
    });
    req.on('error', (err) => {
      this._posted(0);
      this.destroy(err);
    });
    this._req = req;
    const hook = this._onBeforeFirstWrite;
    this._onBeforeFirstWrite = null;
    if (hook) hook((chunk) => req.write(chunk));
  }

  _write(chunk, encoding, callback) {
    this._open();
    if (this._req.write(chunk, encoding)) callback();
    else this._req.once('drain', () => callback());
  }

  _final(callback) {
    this._open();
    if (this._trailers) this._req.addTrailers(this._trailers);
    this._req.end(() => callback());
  }

  // fail ends a stream that has started with the error in the trailers,
  // after what was written before it. A stream already ended has sent its
  // last chunk: the error can only be logged.
  fail(payload) {
    if (this.writableEnded) return;
    this._trailers = {
      'Lambda-Runtime-Function-Error-Type': payload.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(payload)).toString('base64'),
    };
    this.end();
  }
}

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    // JSON.stringify never writes a NUL byte, so the delimiter is
    // unambiguous.
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(PRELUDE_DELIMITER_LEN));
    };
    return underlyingStream;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[STREAMING] = Object.assign({}, options || {});
    return handler;
  },
  HttpResponseStream,
};

// runStreaming runs a streamifyResponse handler. An error before anything
// was written is posted as the invocation's error, as for any handler; one
// after the first write goes in the stream's trailers.
async function runStreaming(handler, event, ctx, id) {
  const stream = new ResponseStream(id, handler[STREAMING]);
  stream.on('error', () => {});
  try {
    await handler(event, stream, ctx);
    if (!stream.writableEnded) stream.end();
  } catch (err) {
    if (!stream.opened) {
      await postError(`/invocation/${id}/error`, err, 'Error');
      return;
    }
    const payload = errorPayload(err, 'Error');
    logError('Invoke Error', payload);
    stream.fail(payload);
  }
  await stream.posted;
}

async function loadHandler() {
  const spec = process.env._HANDLER || 'index.handler';
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) {
    const e = new Error(`Bad handler ${spec}: expected "module.export"`);
    e.name = 'Runtime.MalformedHandlerName';
    throw e;
  }
  // The export part may be nested ("index.app.handler" means module index,
  // export app.handler), as in the managed runtime.
  const firstDot = spec.indexOf('.', spec.lastIndexOf('/') + 1);
  const modulePart = spec.slice(0, firstDot);
  const exportPath = spec.slice(firstDot + 1).split('.');
  const basePath = path.resolve(root, modulePart);
  let mod;
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => basePath + ext).filter((p) => fs.existsSync(p));
  if (candidates.length === 0) {
    const e = new Error(`Cannot find module '${modulePart}'`);
    e.name = 'Runtime.ImportModuleError';
    throw e;
  }
  const file = candidates[0];
  try {
    if (file.endsWith('.mjs')) {
      mod = await import(pathToFileURL(file).href);
    } else {
      try {
        mod = require(file);
      } catch (err) {
        if (err && err.code === 'ERR_REQUIRE_ESM') {
          mod = await import(pathToFileURL(file).href);
        } else {
          throw err;
        }
      }
    }
  } catch (err) {
    const e = new Error(`${err && err.name ? err.name : 'Error'}: ${err && err.message ? err.message : err}`);
    e.name = err instanceof SyntaxError ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError';
    e.stack = err && err.stack ? err.stack : e.stack;
    throw e;
  }
  let fn = mod;
  for (const key of exportPath) {
    fn = fn == null ? undefined : fn[key];
  }
  if (typeof fn !== 'function' && mod && mod.default) {
    fn = mod.default;
    for (const key of exportPath) fn = fn == null ? undefined : fn[key];
  }
  if (typeof fn !== 'function') {
    const e = new Error(`${spec} is undefined or not exported`);
    e.name = 'Runtime.HandlerNotFound';
    throw e;
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const ctx = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (headers['lambda-runtime-client-context']) {
    try { ctx.clientContext = JSON.parse(headers['lambda-runtime-client-context']); } catch (e) { /* ignored like the managed runtime */ }
  }
  if (headers['lambda-runtime-cognito-identity']) {
    try { ctx.identity = JSON.parse(headers['lambda-runtime-cognito-identity']); } catch (e) { /* ignored */ }
  }
  return ctx;
}

// beforeExitHook runs once when the event loop is empty (Node's
// 'beforeExit'); a callback answer waiting for an empty event loop sits here.
let beforeExitHook = null;
process.on('beforeExit', () => {
  const hook = beforeExitHook;
  beforeExitHook = null;
  if (hook) hook();
});

// runHandler settles with the handler's result. A handler that returns a
// promise is awaited; one declared with three parameters answers through the
// callback; a plain return value of any other handler is used as is.
// As in the managed runtime, a callback answer waits until the event loop is
// empty (pending timers, sockets...) unless the handler set
// context.callbackWaitsForEmptyEventLoop = false; context.done, succeed and
// fail, errors and promise results answer at once. A callback handler whose
// event loop empties without an answer answers null.
function runHandler(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    let waits = true;
    Object.defineProperty(ctx, 'callbackWaitsForEmptyEventLoop', {
      get: () => waits,
      set: (v) => { waits = v; },
      enumerable: true,
      configurable: true,
    });
    const finish = (err, result, waitForEmptyLoop) => {
      if (settled) return;
      settled = true;
      beforeExitHook = null;
      if (err !== undefined && err !== null) reject(err);
      else if (waitForEmptyLoop) beforeExitHook = () => setImmediate(() => resolve(result));
      else resolve(result);
    };
    const callback = (err, result) => finish(err, result, waits);
    ctx.done = (err, result) => finish(err, result, false);
    ctx.succeed = (result) => finish(null, result, false);
    ctx.fail = (err) => finish(err == null ? new Error('handled') : err, undefined, false);
    if (handler.length >= 3) beforeExitHook = () => finish(null, null, false);
    let ret;
    try {
      ret = handler(event, ctx, callback);
    } catch (err) {
      finish(err);
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then((v) => finish(null, v, false), (err) => finish(err == null ? new Error('Promise rejected') : err));
    } else if (handler.length < 3) {
      finish(null, ret, false);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    await postError('/init/error', err, 'Runtime.ImportModuleError').catch(() => {});
    process.exit(1);
  }
  process.on('uncaughtException', (err) => fatal('Uncaught Exception', err, 129));
  process.on('unhandledRejection', (reason) => {
    // The managed runtime reports every unhandled rejection under this
    // type, with the reason as message.
    const err = new Error(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
    err.name = 'Runtime.UnhandledPromiseRejection';
    if (reason instanceof Error && reason.stack) err.stack = reason.stack;
    fatal('Unhandled Promise Rejection', err, 128);
  });
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) {
      throw new Error(`runtime API /next answered ${next.status}`);
    }
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8') || 'null');
    } catch (err) {
      await postError(`/invocation/${id}/error`, err, 'Runtime.InvalidEvent');
      continue;
    }
    const ctx = makeContext(next.headers);
    if (handler[STREAMING]) {
      await runStreaming(handler, event, ctx, id);
      currentRequestId = '';
      continue;
    }
    try {
      const result = await runHandler(handler, event, ctx);
      const body = JSON.stringify(result === undefined ? null : result);
      await request('POST', `/invocation/${id}/response`, body === undefined ? 'null' : body);
    } catch (err) {
      await postError(`/invocation/${id}/error`, err, 'Error');
    }
    currentRequestId = '';
  }
}

main().catch((err) => {
  process.stderr.write(`bootstrap: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
