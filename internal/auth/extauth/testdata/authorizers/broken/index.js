// An authorizer whose answer is not one API Gateway accepts (no
// policyDocument): the gateway answers 500.
exports.handler = async () => ({ principalId: 'x' });
