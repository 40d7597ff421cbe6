package auth

var ErrInvalidAPIToken = errInvalidAPIToken
