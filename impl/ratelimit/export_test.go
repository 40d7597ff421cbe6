package ratelimit

var ClientKey = clientKey
