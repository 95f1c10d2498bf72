package consumer

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNeitherReceiversNorCDK: what a consumer team compiles when it
// imports this package is the standard library, the AWS Lambda Go library
// and the SDK's DynamoDB client — never the receivers, the CDK or jsii.
func TestImportsNeitherReceiversNorCDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := []string{"github.com/aws/aws-lambda-go/", "github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go", "webhooks/consumer"}
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") && !strings.HasPrefix(pkg, "webhooks/") {
			continue // the standard library
		}
		n++
		ok := false
		for _, prefix := range allowed {
			ok = ok || strings.HasPrefix(pkg, prefix)
		}
		if !ok {
			t.Errorf("the consumer package depends on %s", pkg)
		}
	}
	if n == 0 {
		t.Fatal("go list found no dependency outside the standard library: the check would pass whatever it imports")
	}
}
