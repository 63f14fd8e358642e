export default function App() {
  return <h1>shop</h1>;
}
