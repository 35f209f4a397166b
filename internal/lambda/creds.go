package lambda

import "github.com/aws/aws-sdk-go-v2/aws"

type awsCreds = aws.Credentials
