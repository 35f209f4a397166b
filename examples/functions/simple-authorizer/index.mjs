// An HTTP API Lambda authorizer with simple responses, shaped as API
// Gateway's documentation shows one ("Example Lambda authorizer
// functions", format 2.0 simple response): authorized when the
// authorization header is "secretToken", with a context of every JSON
// type.
export const handler = async (event) => {
  let response = {
    isAuthorized: false,
    context: {
      stringKey: 'value',
      numberKey: 1,
      booleanKey: true,
      arrayKey: ['value1', 'value2'],
      mapKey: { value1: 'value2' },
    },
  };
  if (event.headers.authorization === 'secretToken') {
    response = {
      isAuthorized: true,
      context: {
        stringKey: 'value',
        numberKey: 1,
        booleanKey: true,
        arrayKey: ['value1', 'value2'],
        mapKey: { value1: 'value2' },
        routeArn: event.routeArn,
        identitySource: event.identitySource,
        type: event.type,
        version: event.version,
      },
    };
  }
  return response;
};
