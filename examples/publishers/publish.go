// Publish to a sluice hub from Go, standard library only: go run publish.go news '{"title":"hi"}'
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
)

func publish(topic string, data json.RawMessage) (string, error) {
	body, err := json.Marshal(map[string]any{"topic": topic, "data": data})
	if err != nil {
		return "", err // data is not JSON
	}
	hub := os.Getenv("HUB_URL")
	if hub == "" {
		hub = "http://localhost:8080"
	}
	request, err := http.NewRequest("POST", hub+"/publish", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	request.Header.Set("authorization", "Bearer "+os.Getenv("SLUICE_PUBLISH_KEY"))
	request.Header.Set("content-type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	answer, err := io.ReadAll(response.Body)
	if err != nil {
		return "", err
	}
	if response.StatusCode != http.StatusOK {
		// The hub's problem+json says what to fix.
		return "", fmt.Errorf("%s: %s", response.Status, answer)
	}
	var result struct {
		ID string `json:"id"`
	}
	err = json.Unmarshal(answer, &result)
	return result.ID, err
}

func main() {
	id, err := publish(os.Args[1], json.RawMessage(os.Args[2]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(id)
}
