package discovery

import core "github.com/lambdagate/lambdagate/api/core/v1"

type resourceSecret = core.Secret
