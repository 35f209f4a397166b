// An HTTP API Lambda authorizer (payload 2.0) answering an IAM policy, as
// API Gateway's documentation describes the 2.0 IAM response: the caller
// may GET anything under /pets and nothing else, written with wildcards
// on the route ARN's stage, method and path.
export const handler = async (event) => {
  const [arnPrefix] = event.routeArn.split('/');
  const allow = event.headers.authorization === 'pets-reader';
  return {
    principalId: 'abcdef',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: allow ? 'Allow' : 'Deny', Resource: [arnPrefix + '/*/GET/pets*'] },
        { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: arnPrefix + '/*/GET/pets/secret' },
      ],
    },
    context: { exampleKey: 'exampleValue' },
  };
};
