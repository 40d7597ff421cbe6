package server

var AccessLog = accessLog
