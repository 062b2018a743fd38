import { Component } from 'react';

// What is not an API error (an answer that is not JSON, a bug in a page) replaces the page
// it broke, not the whole app: the navigation stays, with what went wrong and a retry.
export class ErrorBoundary extends Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  retry = () => {
    this.setState({ error: null });
    this.props.onRetry();
  };

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="card failure" role="alert">
        <h1>This page failed</h1>
        <p><code>{error.message || String(error)}</code></p>
        <button type="button" onClick={this.retry}>Try again</button>
      </div>
    );
  }
}
