module github.com/cpsmm/cpsmm

go 1.26.8

require (
	github.com/gosnmp/gosnmp v1.47.0
	github.com/sirupsen/logrus v1.10.2
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/sys v0.13.0 // indirect
