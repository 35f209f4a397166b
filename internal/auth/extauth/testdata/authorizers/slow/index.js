// An authorizer that outlives its function timeout (1 s, function.yaml):
// Lambda reports a timeout, and the gateway answers 500.
exports.handler = () => new Promise((resolve) => setTimeout(() => resolve({ isAuthorized: true }), 3000));
