package sigv4

import (
	"net/http"
	"testing"
	"time"
)

// TestAWSExample checks the "GET Object" example of the AWS S3 SigV4
// documentation (header-based authentication), byte for byte.
func TestAWSExample(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	c := Credentials{AccessKey: "AKIAIOSFODNN7EXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Region: "us-east-1"}
	now := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	Sign(req, c, EmptyHash, now)
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization\n got %s\nwant %s", got, want)
	}
	if err := Verify(req, c, time.Minute, now); err != nil {
		t.Errorf("Verify of our own signature: %v", err)
	}
	bad := c
	bad.SecretKey = "wrong"
	if err := Verify(req, bad, time.Minute, now); err == nil {
		t.Error("Verify accepted a signature made with another secret")
	}
	if err := Verify(req, c, time.Minute, now.Add(time.Hour)); err == nil {
		t.Error("Verify accepted an hour-old request")
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"a b": "a%20b", "x/y": "x%2Fy", "~._-": "~._-", "é": "%C3%A9", "%": "%25"} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
