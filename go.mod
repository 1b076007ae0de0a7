module github.com/cpsmm/cpsmm

go 1.26.8
