// A TOKEN authorizer shaped as API Gateway's documentation shows one
// ("Example TOKEN authorizer Lambda function"): the token decides
// between an Allow policy, a Deny policy, "Unauthorized" (401) and any
// other error (500); the policy carries a context.
exports.handler = function (event, context, callback) {
  var token = event.authorizationToken;
  switch (token) {
    case 'allow':
      callback(null, generatePolicy('user', 'Allow', event.methodArn));
      break;
    case 'deny':
      callback(null, generatePolicy('user', 'Deny', event.methodArn));
      break;
    case 'unauthorized':
      callback('Unauthorized'); // 401
      break;
    default:
      callback('Error: Invalid token'); // 500
  }
};

// Builds the authorizer's answer: principal, IAM policy, context.
var generatePolicy = function (principalId, effect, resource) {
  var authResponse = {};
  authResponse.principalId = principalId;
  if (effect && resource) {
    var policyDocument = {};
    policyDocument.Version = '2012-10-17';
    policyDocument.Statement = [];
    var statementOne = {};
    statementOne.Action = 'execute-api:Invoke';
    statementOne.Effect = effect;
    statementOne.Resource = resource;
    policyDocument.Statement[0] = statementOne;
    authResponse.policyDocument = policyDocument;
  }
  authResponse.context = {
    stringKey: 'stringval',
    numberKey: 123,
    booleanKey: true,
  };
  return authResponse;
};
