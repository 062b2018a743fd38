import { ErrorList } from './status';

// Characters as the backend counts them (code points, so an emoji is one).
export const length = (text) => [...text].length;

// A labelled textarea with a live character counter and its field's error messages.
export function MessageField({ id, label, value, onChange, max, codes, inputRef }) {
  const used = length(value);
  const over = used > max;
  const counterId = `${id}-counter`;
  const errorsId = `${id}-errors`;
  const describedBy = codes.length > 0 ? `${counterId} ${errorsId}` : counterId;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        ref={inputRef}
        rows={3}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={over || codes.length > 0}
        aria-describedby={describedBy}
      />
      <p id={counterId} className={over ? 'counter over' : 'counter'}>
        {used}/{max}
        {over && ` · ${used - max} over the limit`}
      </p>
      <ErrorList id={errorsId} codes={codes} />
    </div>
  );
}
