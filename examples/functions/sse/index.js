// Server-sent events from a streaming function: serve it on a route with
// responseTransferMode: STREAM (examples/streaming.yaml) and each event
// reaches the client as the function writes it. HttpResponseStream.from
// sets the status and headers (the HTTP integration prelude) before the
// body, as on a Lambda function URL.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  });
  const count = Math.min(Number(event.queryStringParameters?.count) || 5, 50);
  for (let i = 1; i <= count; i++) {
    stream.write(`id: ${i}\nevent: tick\ndata: ${JSON.stringify({ n: i, at: new Date().toISOString() })}\n\n`);
    await sleep(500);
  }
  stream.end();
});
