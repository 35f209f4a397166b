// A REQUEST authorizer (payload 1.0) shaped as API Gateway's
// documentation shows one ("Example REQUEST authorizer Lambda function"):
// it reads a header and a query string parameter of the event and
// answers an Allow policy on the method ARN, else "Unauthorized". It
// echoes what it saw in the context so the test can check the event.
// The documentation reads headers.HeaderAuth1; payload 1.0 events carry
// header names in Go's canonical form (docs/compatibility.md), so the
// same header is headers.Headerauth1 here.
exports.handler = function (event, context, callback) {
  var headers = event.headers;
  var queryStringParameters = event.queryStringParameters;
  // The method ARN's parts, as the documentation's example reads them.
  var tmp = event.methodArn.split(':');
  var apiGatewayArnTmp = tmp[5].split('/');
  var method = apiGatewayArnTmp[2];
  if (event.type === 'REQUEST' && headers.Headerauth1 === 'headerValue1' && queryStringParameters.QueryString1 === 'queryValue1') {
    callback(null, {
      principalId: 'me',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context: { method: method, path: event.path, resource: event.resource, proxy: event.pathParameters.proxy, identitySource: event.identitySource },
    });
  } else {
    callback('Unauthorized');
  }
};
